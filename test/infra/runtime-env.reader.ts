import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** Where a variable name was found: file (repository-relative) and line. */
export interface EnvRead {
  readonly name: string;
  readonly at: string;
}

/** A variable name built at run time (a template such as `${prefix}_FILE`); its expansions cannot be read from source. */
export interface DynamicEnvRead {
  readonly template: string;
  readonly at: string;
}

// The platform's own variables; a literal with one of these prefixes is a variable name wherever it is written.
const PLATFORM_NAME = /^(FORGEONE|OTEL|NATS|DATABASE)_[A-Z0-9_]*[A-Z0-9]$/;
// Any environment variable, when it is the key read from an `env` object.
const ENV_NAME = /^[A-Z][A-Z0-9_]*$/;

/** The apps that run as services: those built on the service host (the CLI is not). */
export function serviceApps(root: string): string[] {
  return readdirSync(join(root, 'apps'))
    .filter((app) => Object.keys(packageJson(root, join('apps', app)).dependencies ?? {}).includes('@forgeone/service-host'))
    .sort();
}

/**
 * The source folders a service's process runs: its app and every workspace library it depends on
 * (runtime `dependencies`, transitively; a development dependency such as the test harness is not shipped).
 */
export function runtimeSourceFolders(root: string, app: string): string[] {
  const libraries = new Map(
    readdirSync(join(root, 'libs')).map((lib) => [packageJson(root, join('libs', lib)).name as string, join('libs', lib)]),
  );
  const folders = new Set<string>();
  const visit = (folder: string) => {
    if (folders.has(folder)) return;
    folders.add(folder);
    for (const dependency of Object.keys(packageJson(root, folder).dependencies ?? {})) {
      const lib = libraries.get(dependency);
      if (lib) visit(lib);
    }
  };
  visit(join('apps', app));
  return [...folders].sort();
}

/**
 * Every environment variable a folder's shipped TypeScript reads, found in its syntax tree (comments and
 * messages do not count): keys read from an `env` object (`env.X`, `process.env.X`, `env['X']`), platform
 * variable names written as literals or object keys (constants later used as `env[name]`, zod schemas
 * parsed from the environment), and names built from templates, which the caller must expand.
 */
export function readEnvironmentReads(root: string, folder: string): { reads: EnvRead[]; dynamic: DynamicEnvRead[] } {
  const reads: EnvRead[] = [];
  const dynamic: DynamicEnvRead[] = [];
  for (const file of shippedSources(join(root, folder, 'src'))) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const at = (node: ts.Node) => `${relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
    const visit = (node: ts.Node): void => {
      if (ts.isPropertyAccessExpression(node) && isEnvObject(node.expression) && ENV_NAME.test(node.name.text)) {
        reads.push({ name: node.name.text, at: at(node) });
      } else if (ts.isElementAccessExpression(node) && isEnvObject(node.expression) && ts.isStringLiteralLike(node.argumentExpression) && ENV_NAME.test(node.argumentExpression.text)) {
        reads.push({ name: node.argumentExpression.text, at: at(node) });
      } else if (ts.isStringLiteralLike(node) && PLATFORM_NAME.test(node.text)) {
        reads.push({ name: node.text, at: at(node) });
      } else if ((ts.isPropertyAssignment(node) || ts.isPropertySignature(node)) && ts.isIdentifier(node.name) && PLATFORM_NAME.test(node.name.text) && isInsideObjectLiteral(node)) {
        reads.push({ name: node.name.text, at: at(node) });
      } else if (ts.isTemplateExpression(node) && isVariableTemplate(node)) {
        dynamic.push({ template: node.getText(source), at: at(node) });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { reads, dynamic };
}

// `env`, `process.env`, `io.env`, `options.env`…: any expression ending in `env`.
function isEnvObject(node: ts.Expression): boolean {
  if (ts.isIdentifier(node)) return node.text === 'env';
  if (ts.isPropertyAccessExpression(node)) return node.name.text === 'env';
  if (ts.isParenthesizedExpression(node) || ts.isNonNullExpression(node)) return isEnvObject(node.expression);
  return false;
}

function isInsideObjectLiteral(node: ts.Node): boolean {
  return ts.isObjectLiteralExpression(node.parent);
}

// A template whose fixed parts look like the pieces of a variable name: `${prefix}_FILE`, `FORGEONE_X_${service}`.
function isVariableTemplate(node: ts.TemplateExpression): boolean {
  const parts = [node.head.text, ...node.templateSpans.map((span) => span.literal.text)];
  const looksLikeName = (text: string) => /^(_[A-Z0-9]+)+$/.test(text) || /^(FORGEONE|OTEL|NATS|DATABASE)_[A-Z0-9_]*$/.test(text);
  return parts.some((part) => part !== '' && looksLikeName(part)) && parts.every((part) => part === '' || looksLikeName(part));
}

function shippedSources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    // Test helpers exported for other packages' tests are not part of a running service.
    if (entry.isDirectory()) {
      if (entry.name !== 'testing' && entry.name !== '__tests__') out.push(...shippedSources(path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !/\.(spec|test)\.ts$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

function packageJson(root: string, folder: string): { name?: string; dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8')) as { name?: string; dependencies?: Record<string, string> };
}
