import { manifestJsonSchema } from '@forgeone/contracts';
import { Controller, Get, Header } from '@nestjs/common';
import { buildOpenApiDocument } from '../openapi/openapi.document.js';

// The API description and the manifest schema, both generated from the contract schemas.
@Controller()
export class DocsController {
  private document?: Record<string, unknown>;
  private manifestSchema?: Record<string, unknown>;

  @Get('docs')
  docs(): Record<string, unknown> {
    this.document ??= buildOpenApiDocument();
    return this.document;
  }

  @Get('schemas/forgeone.plugin.schema.json')
  @Header('content-type', 'application/schema+json')
  manifest(): Record<string, unknown> {
    this.manifestSchema ??= manifestJsonSchema();
    return this.manifestSchema;
  }
}
