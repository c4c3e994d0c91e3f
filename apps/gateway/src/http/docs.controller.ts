import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { manifestJsonSchema } from '@forgeone/contracts';
import { API, buildOpenApiDocument } from '@forgeone/http-contract';
import { Controller, Header, Req, Res } from '@nestjs/common';
import { ContractRoute } from './contract-route.js';

/** Where swagger-ui-dist's files are; the gateway serves them under /docs/assets/, no CDN involved. */
export function apiReferenceAssetsFolder(): string {
  // The package's main module loads the browser bundle into Node; only its folder is wanted.
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

const ASSETS = '/docs/assets';

// The page Swagger UI's own index.html would be, pointed at this gateway's document.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ForgeOne API</title>
<link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
</head>
<body>
<div id="api-reference"></div>
<script src="${ASSETS}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: '${API.openApiDocument.path}', dom_id: '#api-reference', deepLinking: true, tryItOutEnabled: false });
</script>
</body>
</html>
`;

// The API reference (Swagger UI over the OpenAPI document generated from the HTTP contract), the
// document itself, and the manifest schema.
@Controller()
export class DocsController {
  private document?: Record<string, unknown>;
  private manifestSchema?: Record<string, unknown>;

  // A browser gets the page; a client that asks for JSON (as scripts of /docs always have) the document.
  @ContractRoute(API.apiReference)
  docs(@Req() req: IncomingMessage & { accepts(types: string[]): string | false }, @Res() res: ServerResponse): void {
    const json = req.accepts(['text/html', 'application/json']) === 'application/json';
    res.statusCode = 200;
    res.setHeader('content-type', json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8');
    res.end(json ? JSON.stringify(this.openApi()) : PAGE);
  }

  @ContractRoute(API.openApiDocument)
  openApi(): Record<string, unknown> {
    this.document ??= buildOpenApiDocument();
    return this.document;
  }

  @ContractRoute(API.manifestSchema)
  @Header('content-type', 'application/schema+json')
  manifest(): Record<string, unknown> {
    this.manifestSchema ??= manifestJsonSchema();
    return this.manifestSchema;
  }
}
