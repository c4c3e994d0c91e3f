import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { names, SERVICES } from '@forgeone/contracts';
import { API_ROUTES } from '@forgeone/http-contract';
import { loadConfig, loadPlatformNatsConfig, renderPasswordAccounts } from '@forgeone/runtime';
import { repoRoot } from '@forgeone/test-harness';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { readEnvironmentReads, runtimeSourceFolders, serviceApps, type EnvRead } from './runtime-env.reader.js';

// infra/k8s must follow the code: a new service needs a Deployment, a new variable a manifest entry or a
// reason in unset-variables.yaml. Documents are checked here for shape, since no Kubernetes validator
// ships with the repository's dependencies.

const root = repoRoot();
const k8s = join(root, 'infra', 'k8s');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  tcpSocket?: { port: string | number };
  exec?: { command: string[] };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { memory?: string } };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface PodSpec {
  containers: Container[];
  volumes?: Array<{ name: string; secret?: { secretName: string; items?: Array<{ key: string; path: string }> }; configMap?: { name: string } }>;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: {
    replicas?: number;
    selector?: Record<string, unknown> & { matchLabels?: Record<string, string> };
    template?: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    ports?: Array<{ name: string; port: number; targetPort: string | number }>;
  };
  data?: Record<string, string>;
  file: string;
}

// The kinds used here and their API versions.
const API_VERSIONS: Record<string, string> = {
  Namespace: 'v1',
  ConfigMap: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  Job: 'batch/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  PodDisruptionBudget: 'policy/v1',
};
const LONG_RUNNING = new Set(['Deployment', 'StatefulSet']);
// Objects the manifests reference but an operator creates (README.md): secrets, and the NATS files from infra/.
const CREATED_BY_OPERATOR = { secrets: new Set(['forgeone-secrets', 'forgeone-database', 'nats-tls']), configMaps: new Set(['nats-config']) };

const kustomization = parse(readFileSync(join(k8s, 'kustomization.yaml'), 'utf8')) as { namespace: string; resources: string[]; images: Array<{ name: string }> };
const manifests: Manifest[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(join(k8s, file), 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`infra/k8s/${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return { ...(doc.toJSON() as Omit<Manifest, 'file'>), file };
  }),
);
const workloads = manifests.filter((m) => m.spec?.template);
const containersOf = (m: Manifest) => m.spec!.template!.spec.containers;
const configMaps = new Map(manifests.filter((m) => m.kind === 'ConfigMap').map((m) => [m.metadata.name, m.data ?? {}]));
const unset = parse(readFileSync(join(k8s, 'unset-variables.yaml'), 'utf8')) as Record<string, string>;

/** What a container's environment holds by name: its own entries and those of the ConfigMaps it loads. */
function environmentOf(container: Container): Map<string, EnvVar> {
  const out = new Map<string, EnvVar>();
  for (const from of container.envFrom ?? []) {
    for (const [name, value] of Object.entries(configMaps.get(from.configMapRef?.name ?? '') ?? {})) out.set(name, { name, value });
  }
  for (const entry of container.env ?? []) out.set(entry.name, entry);
  return out;
}

const apps = serviceApps(root);
const deploymentOf = (app: string) => manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === app);

// Names built from templates in the source, expanded here; a template not listed fails the test below.
const DYNAMIC_NAMES: Record<string, () => string[]> = {
  // Not a variable: the event stream's name.
  '`${upper}FORGEONE_EVENTS`': () => [],
  // The password of each user of accounts.conf.
  "`FORGEONE_NATS_${busUserName(principal).replace(/-/g, '_').toUpperCase()}_PASSWORD`": () => [...renderPasswordAccounts(names('')).matchAll(/password: \$(\w+)/g)].map((m) => m[1]!),
  "`FORGEONE_NATS_CREDENTIAL_${service.replace(/-/g, '_').toUpperCase()}`": () => SERVICES.map((s) => `FORGEONE_NATS_CREDENTIAL_${s.replace(/-/g, '_').toUpperCase()}`),
  // signingKeyProviderFromEnv(env, prefix): the signer's key (default prefix) and the audit checkpoint key.
  '`${prefix}_FILE`': () => ['FORGEONE_SIGNER_KEY_FILE', 'FORGEONE_AUDIT_KEY_FILE'],
  '`${prefix}_PASSPHRASE`': () => ['FORGEONE_SIGNER_KEY_PASSPHRASE', 'FORGEONE_AUDIT_KEY_PASSPHRASE'],
  // The two platform sinks.
  '`FORGEONE_SIEM_${sink}_TYPES`': () => ['FORGEONE_SIEM_SYSLOG_TYPES', 'FORGEONE_SIEM_HEC_TYPES'],
  '`FORGEONE_SIEM_${sink}_MIN_SEVERITY`': () => ['FORGEONE_SIEM_SYSLOG_MIN_SEVERITY', 'FORGEONE_SIEM_HEC_MIN_SEVERITY'],
};

/** Every variable the services' code reads, with where it was first seen. */
function variablesTheServicesRead(): Map<string, string> {
  const folders = [...new Set(apps.flatMap((app) => runtimeSourceFolders(root, app)))].sort();
  const reads: EnvRead[] = [];
  const unknownTemplates: string[] = [];
  for (const folder of folders) {
    const found = readEnvironmentReads(root, folder);
    reads.push(...found.reads);
    for (const dynamic of found.dynamic) {
      const expand = DYNAMIC_NAMES[dynamic.template];
      if (expand) reads.push(...expand().map((name) => ({ name, at: dynamic.at })));
      else unknownTemplates.push(`${dynamic.template} (${dynamic.at})`);
    }
  }
  expect(unknownTemplates, 'variable names built from a template: add their expansions to DYNAMIC_NAMES').toEqual([]);
  const out = new Map<string, string>();
  for (const { name, at } of reads) if (!out.has(name)) out.set(name, at);
  return out;
}

describe('infra/k8s manifests', () => {
  it('k8s - the kustomization lists every manifest in the folder, and each document has the shape of its kind', () => {
    const files = readdirSync(k8s).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'unset-variables.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    expect(kustomization.namespace).toBe('forgeone');
    for (const m of manifests) {
      const where = `${m.file}: ${m.kind} ${m.metadata?.name}`;
      expect(API_VERSIONS[m.kind], `${where}: a kind these manifests do not use yet`).toBeDefined();
      expect(m.apiVersion, where).toBe(API_VERSIONS[m.kind]);
      expect(m.metadata?.name, where).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(m.kind === 'ConfigMap' ? m.data : m.kind === 'Namespace' ? m.metadata : m.spec, where).toBeTypeOf('object');
      // Values of secrets are never committed: every Secret is created by the operator.
      expect(m.kind, where).not.toBe('Secret');
    }
    const keys = manifests.map((m) => `${m.kind}/${m.metadata.name}`);
    expect(new Set(keys).size, 'duplicate objects').toBe(keys.length);
  });

  it('k8s - every workload is consistent: selectors, ports, probes, volumes, variables and the objects they name', () => {
    for (const m of workloads) {
      const pod = m.spec!.template!;
      if (LONG_RUNNING.has(m.kind)) expect(Object.keys(m.spec!.selector?.matchLabels ?? {}).length, `${m.metadata.name}: selector`).toBeGreaterThan(0);
      for (const [label, value] of Object.entries(m.spec!.selector?.matchLabels ?? {})) expect(pod.metadata.labels[label], `${m.metadata.name}: selector ${label}`).toBe(value);
      const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
      for (const volume of volumes.values()) {
        if (volume.secret) expect(CREATED_BY_OPERATOR.secrets.has(volume.secret.secretName), `${m.metadata.name}: secret ${volume.secret.secretName}`).toBe(true);
        if (volume.configMap) expect(configMaps.has(volume.configMap.name) || CREATED_BY_OPERATOR.configMaps.has(volume.configMap.name), `${m.metadata.name}: ConfigMap ${volume.configMap.name}`).toBe(true);
      }
      const claims = ((m.spec as { volumeClaimTemplates?: Array<{ metadata: { name: string } }> }).volumeClaimTemplates ?? []).map((c) => c.metadata.name);
      for (const container of containersOf(m)) {
        const where = `${m.metadata.name}/${container.name}`;
        expect(container.image, where).toMatch(/^[a-z0-9./:-]+$/);
        const portNames = (container.ports ?? []).map((p) => p.name).filter(Boolean);
        expect(new Set(portNames).size, `${where}: port names`).toBe(portNames.length);
        for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
          const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
          if (typeof port === 'string') expect(portNames, `${where}: a probe names port ${port}`).toContain(port);
        }
        for (const mount of container.volumeMounts ?? []) expect(volumes.has(mount.name) || claims.includes(mount.name), `${where}: volume ${mount.name}`).toBe(true);
        for (const from of container.envFrom ?? []) {
          expect(from.secretRef, `${where}: secrets are referenced key by key, so it is visible which pod gets which`).toBeUndefined();
          expect(configMaps.has(from.configMapRef!.name), `${where}: ConfigMap ${from.configMapRef!.name}`).toBe(true);
        }
        const names = (container.env ?? []).map((e) => e.name);
        expect(new Set(names).size, `${where}: a variable set twice`).toBe(names.length);
        const before = new Set<string>(Object.keys(configMaps.get(container.envFrom?.[0]?.configMapRef?.name ?? '') ?? {}));
        for (const entry of container.env ?? []) {
          expect(entry.name, where).toMatch(/^[A-Z_][A-Z0-9_]*$/);
          expect(entry.value !== undefined || entry.valueFrom !== undefined, `${where}: ${entry.name} has no value`).toBe(true);
          const secret = entry.valueFrom?.secretKeyRef;
          if (secret) expect(CREATED_BY_OPERATOR.secrets.has(secret.name), `${where}: ${entry.name} from secret ${secret.name}`).toBe(true);
          // Kubernetes expands $(NAME) only from variables defined before; otherwise the text stays as written.
          for (const [, ref] of (entry.value ?? '').matchAll(/\$\(([A-Z0-9_]+)\)/g)) expect(before.has(ref!), `${where}: ${entry.name} uses $(${ref}) before it is defined`).toBe(true);
          before.add(entry.name);
        }
      }
    }
    for (const service of manifests.filter((m) => m.kind === 'Service')) {
      const selector = (service.spec!.selector ?? {}) as Record<string, string>;
      const target = workloads.find((w) => Object.entries(selector).every(([k, v]) => w.spec!.template!.metadata.labels[k] === v));
      expect(target, `Service ${service.metadata.name} selects no workload`).toBeDefined();
      const ports = containersOf(target!).flatMap((c) => c.ports ?? []);
      for (const port of service.spec!.ports ?? []) expect(ports.some((p) => p.name === port.targetPort || p.containerPort === port.targetPort), `Service ${service.metadata.name}: ${port.name}`).toBe(true);
    }
    expect(kustomization.images.map((i) => i.name)).toEqual(['forgeone']);
  });

  it('k8s - every service in apps/ has a Deployment that runs it as docker-compose.yml does', () => {
    expect(apps.length).toBeGreaterThan(0);
    const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, { command: string[] }> };
    for (const app of apps) {
      const deployment = deploymentOf(app);
      expect(deployment, `apps/${app} is a service but infra/k8s has no Deployment "${app}"`).toBeDefined();
      const [container, ...others] = containersOf(deployment!);
      expect(others, app).toEqual([]);
      expect(container!.name).toBe(app);
      expect(container!.image, app).toBe('forgeone');
      expect(container!.args, app).toEqual(compose.services[app]!.command);
      expect(environmentOf(container!).get('OTEL_SERVICE_NAME')?.value, app).toBe(`forgeone-${app}`);
    }
    // The bus knows the same services (health subjects, NATS users).
    expect(apps).toEqual([...SERVICES].sort());
    // And nothing runs the image that is not one of them, apart from the setup Job.
    const forgeone = workloads.filter((m) => containersOf(m).some((c) => c.image === 'forgeone')).map((m) => m.metadata.name);
    expect(forgeone.sort()).toEqual([...apps, 'forgeone-setup'].sort());
  });

  it('k8s - every long-running container has liveness and readiness probes, and every container resource requests', () => {
    for (const m of workloads) {
      for (const container of containersOf(m)) {
        const where = `${m.metadata.name}/${container.name}`;
        expect(container.resources?.requests?.cpu, `${where}: cpu request`).toMatch(/^\d+m?$/);
        expect(container.resources?.requests?.memory, `${where}: memory request`).toMatch(/^\d+(Mi|Gi)$/);
        expect(container.resources?.limits?.memory, `${where}: memory limit`).toMatch(/^\d+(Mi|Gi)$/);
        if (!LONG_RUNNING.has(m.kind)) continue;
        for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
          const p = container[probe];
          expect(p?.httpGet ?? p?.tcpSocket ?? p?.exec, `${where}: ${probe}`).toBeDefined();
        }
      }
    }
    // The gateway is the one service with an HTTP health endpoint: its routes are the contract's.
    const gateway = containersOf(deploymentOf('gateway')!)[0]!;
    expect(gateway.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(gateway.readinessProbe?.httpGet?.path).toBe('/readyz');
    const paths = API_ROUTES.map((route) => route.path);
    expect(paths).toContain('/healthz');
    expect(paths).toContain('/readyz');
  });

  it('k8s - every variable the services read is set in a manifest or listed, with a reason, as deliberately unset', () => {
    const readByCode = variablesTheServicesRead();
    const containers = workloads.flatMap(containersOf);
    const set = new Set(containers.flatMap((c) => [...environmentOf(c).keys()]));

    const missing = [...readByCode].filter(([name]) => !set.has(name) && !(name in unset)).map(([name, at]) => `${name} (read at ${at})`);
    expect(missing, 'set these in infra/k8s (forgeone-config or the Deployment that reads them), or list them in infra/k8s/unset-variables.yaml with a reason').toEqual([]);
    expect(Object.keys(unset).filter((name) => set.has(name)), 'listed as unset in unset-variables.yaml but set in a manifest').toEqual([]);
    expect(Object.keys(unset).filter((name) => !readByCode.has(name)), 'listed in unset-variables.yaml but no longer read by any service: remove them').toEqual([]);
    for (const [name, reason] of Object.entries(unset)) expect(typeof reason === 'string' && reason.length > 10, `${name} needs a reason`).toBe(true);

    // The other way round: what a ForgeOne container sets is read by the code, by the OpenTelemetry SDK,
    // or is an input of another of its variables ($(NAME)), so a misspelt name cannot hide here.
    for (const m of workloads) {
      for (const container of containersOf(m).filter((c) => c.image === 'forgeone')) {
        const env = environmentOf(container);
        const inputs = new Set([...env.values()].flatMap((e) => [...(e.value ?? '').matchAll(/\$\(([A-Z0-9_]+)\)/g)].map((x) => x[1])));
        const unread = [...env.keys()].filter((name) => !readByCode.has(name) && !name.startsWith('OTEL_') && !inputs.has(name));
        expect(unread, `${m.metadata.name}: variables no service reads`).toEqual([]);
      }
    }
  }, 120_000);

  it('k8s - each service gets what docker-compose.yml gives it, and no secret compose keeps from it', () => {
    const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, { environment: Record<string, string> }> };
    for (const app of apps) {
      const deployment = deploymentOf(app);
      expect(deployment, `apps/${app} has no Deployment`).toBeDefined();
      const env = environmentOf(containersOf(deployment!)[0]!);
      const composeEnv = compose.services[app]!.environment;
      const notSet = Object.keys(composeEnv).filter((name) => !env.has(name) && !(name in unset));
      expect(notSet, `${app}: set by docker-compose.yml, not in infra/k8s nor in unset-variables.yaml`).toEqual([]);
      // Each key of forgeone-secrets a pod receives is one compose hands the same service (its .env variables).
      const composeSecrets = new Set(Object.values(composeEnv).flatMap((value) => [...String(value).matchAll(/\$\{(\w+)/g)].map((m) => m[1])));
      for (const entry of env.values()) {
        const ref = entry.valueFrom?.secretKeyRef;
        if (ref?.name === 'forgeone-secrets') expect(composeSecrets.has(ref.key), `${app} receives ${ref.key}`).toBe(true);
      }
    }
  });

  describe('secrets and NATS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forgeone-k8s-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('k8s - every key of forgeone-secrets the manifests need is one infra/generate-env.sh writes (README: the Secret is made from it)', () => {
      execFileSync('sh', [join(root, 'infra', 'generate-env.sh'), join(dir, '.env')], { stdio: 'pipe' });
      const generated = new Set(readFileSync(join(dir, '.env'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.slice(0, l.indexOf('='))));
      const refs = workloads.flatMap(containersOf).flatMap((c) => c.env ?? []).map((e) => e.valueFrom?.secretKeyRef).filter((r) => r?.name === 'forgeone-secrets');
      const needed = refs.filter((r) => !r!.optional).map((r) => r!.key);
      expect(needed.filter((key) => !generated.has(key))).toEqual([]);
    }, 30_000);

    it('k8s - the NATS nodes set every variable of infra/cluster/nats-cluster.conf and accounts.conf, and the replicas agree', () => {
      const nats = manifests.find((m) => m.kind === 'StatefulSet' && m.metadata.name === 'nats')!;
      expect(nats.spec!.replicas).toBe(3);
      const container = containersOf(nats)[0]!;
      expect(container.args).toEqual(['nats-server', '--config', '/etc/nats/cluster/nats-cluster.conf']);
      const env = environmentOf(container);
      const conf = `${read('infra/cluster/nats-cluster.conf')}\n${read('infra/nats/accounts.conf')}`.replace(/^\s*#.*$/gm, '');
      // A variable is a bare $NAME; inside quotes `$` starts a subject ($JS.API…).
      const bare = conf.replace(/"[^"\n]*"/g, '""');
      const variables = [...new Set([...bare.matchAll(/\$([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!))];
      expect(variables.length).toBeGreaterThan(10);
      expect(variables.filter((name) => !env.has(name)), 'variables of the NATS configuration the nats pods do not set').toEqual([]);
      // The include resolves: accounts.conf sits in ../nats/ beside the cluster file.
      expect(read('infra/cluster/nats-cluster.conf')).toMatch(/^include \.\.\/nats\/accounts\.conf$/m);
      expect((container.volumeMounts ?? []).map((v) => v.mountPath)).toEqual(expect.arrayContaining(['/etc/nats/cluster', '/etc/nats/nats']));

      const config = configMaps.get('forgeone-config')!;
      expect(Number(config.FORGEONE_NATS_REPLICAS)).toBe(nats.spec!.replicas);
      const routes = env.get('NATS_ROUTES')!.value!;
      const hosts = Array.from({ length: nats.spec!.replicas! }, (_, i) => `nats-${i}.nats`);
      for (const host of hosts) expect(routes).toContain(`nats-route://${host}:6222`);
      expect(config.NATS_URL!.split(',').map((u) => new URL(u).host)).toEqual(hosts.map((h) => `${h}:4222`));
    });

    it("k8s - each ForgeOne container's settings pass the platform's own configuration checks", () => {
      for (const m of workloads) {
        for (const container of containersOf(m).filter((c) => c.image === 'forgeone')) {
          const where = `${m.metadata.name}/${container.name}`;
          const env: NodeJS.ProcessEnv = {};
          for (const [name, entry] of environmentOf(container)) {
            const ref = entry.valueFrom?.secretKeyRef;
            env[name] = name === 'DATABASE_URL' ? 'postgres://forgeone:secret@postgres.example:5432/forgeone' : ref ? `${ref.key}-0123456789abcdef` : (entry.value ?? '');
          }
          // The CA file is a path inside the pod: it must be in a mounted volume; its content is checked at start.
          const ca = env.FORGEONE_NATS_CA_FILE!;
          expect((container.volumeMounts ?? []).some((v) => ca.startsWith(`${v.mountPath}/`)), `${where}: FORGEONE_NATS_CA_FILE ${ca} is not in a mounted volume`).toBe(true);
          delete env.FORGEONE_NATS_CA_FILE;
          const config = loadConfig(env);
          expect(config.natsUrl, where).toBeDefined();
          expect(loadPlatformNatsConfig(env).storage.replicas, where).toBe(3);
          if (container.name === 'gateway') expect(config.httpPort).toBe(containersOf(m)[0]!.ports!.find((p) => p.name === 'http')!.containerPort);
        }
      }
    });
  });
});

