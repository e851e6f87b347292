// Schema pieces for tenancy inputs (http/schema.ts style), kept free of app imports so any
// route file can use them without an import cycle.
import { Type } from '@sinclair/typebox';
import { TENANT_ID_PATTERN } from './model.ts';

export const SchoolId = (description = 'a school id') =>
  Type.String({
    pattern: TENANT_ID_PATTERN,
    description: `${description}: 1 to 40 lower-case letters, digits and dashes, starting with a letter or digit`,
  });
