import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serviceCredential } from '@forgeone/authz';
import { connectNats } from '@forgeone/bus';
import { names as makeNames } from '@forgeone/contracts';
import { API_ROUTES } from '@forgeone/http-contract';
import { createDataSource } from '@forgeone/persistence';
import type { NatsConnection } from '@nats-io/transport-node';
import type { INestApplication } from '@nestjs/common';
import { chromium } from 'playwright-core';
import { pino } from 'pino';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../src/gateway.app.js';

const NATS_URL = 'nats://127.0.0.1:4222';
// The docs read nothing from the projections: the shared test database is only connected to.
const DATABASE_URL = process.env.FORGEONE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CHROMIUM = '/usr/bin/chromium';
const names = makeNames(`t-docs-${randomUUID().slice(0, 8)}`);

let nc: NatsConnection;
let ds: DataSource;
let gateway: INestApplication;
let baseUrl: string;

beforeAll(async () => {
  nc = await connectNats(NATS_URL, 'forgeone-gateway');
  ds = await createDataSource(DATABASE_URL, { applicationName: 'gateway-docs-test' }).initialize();
  const credential = serviceCredential('gateway', randomBytes(36).toString('base64'));
  gateway = await createGatewayApp({ connection: nc, names, dataSource: ds, logger: pino({ level: 'silent' }), auth: { serviceCredential: () => credential, authz: { timeoutMs: 1_000, cacheTtlMs: 0 } } });
  await gateway.listen(0, '127.0.0.1');
  baseUrl = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
});

afterAll(async () => {
  await gateway?.close();
  await ds?.destroy();
  await nc?.close();
});

describe('gateway - API reference', () => {
  it('docs - GET /openapi.json is the OpenAPI 3.1 document of every route; /docs answers it to a client asking for JSON', async () => {
    const document = await fetch(`${baseUrl}/openapi.json`);
    expect(document.status).toBe(200);
    expect(document.headers.get('content-type')).toContain('application/json');
    const body = (await document.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(body.openapi).toBe('3.1.0');
    const documented = Object.entries(body.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
    expect(documented.sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    const asJson = await fetch(`${baseUrl}/docs`, { headers: { accept: 'application/json' } });
    expect(asJson.headers.get('content-type')).toContain('application/json');
    expect(await asJson.json()).toEqual(body);
    const schema = await fetch(`${baseUrl}/schemas/forgeone.plugin.schema.json`);
    expect(schema.status).toBe(200);
    expect(await schema.json()).toMatchObject({ $id: 'https://forgeone.dev/schemas/forgeone.plugin.schema.json', type: 'object' });
  });

  it('docs - GET /docs is an HTML page whose script and style the gateway serves itself', async () => {
    const page = await fetch(`${baseUrl}/docs`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets).toEqual(['/docs/assets/swagger-ui.css', '/docs/assets/swagger-ui-bundle.js']);
    for (const asset of assets) {
      const answer = await fetch(`${baseUrl}${asset}`);
      expect(answer.status, asset).toBe(200);
      expect((await answer.arrayBuffer()).byteLength, asset).toBeGreaterThan(10_000);
    }
    expect(html).toContain("url: '/openapi.json'");
    // Nothing is fetched from another host.
    expect(html).not.toMatch(/https?:\/\//);
    expect((await fetch(`${baseUrl}/docs/assets/no-such-file.js`)).status).toBe(404);
  });

  // CI installs chromium (.ci/run), so there the test always runs; elsewhere it needs the Debian package.
  it.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('docs - chromium shows every route of the contract on /docs', { timeout: 60_000 }, async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const outside: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith(baseUrl)) outside.push(request.url());
      });
      await page.goto(`${baseUrl}/docs`);
      await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
      const operations = await page.locator('.opblock-summary-path').allInnerTexts();
      const methods = await page.locator('.opblock-summary-method').allInnerTexts();
      const shown = operations.map((path, i) => `${methods[i].toLowerCase()} ${path.replace(/\u200b/g, '').trim()}`);
      expect(shown.sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
      expect(outside).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
