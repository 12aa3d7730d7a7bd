import { invalid } from "../storage/errors.ts";
import type { CustomerPatch } from "../storage/customers.ts";
import type { CustomerSchema } from "./customer-fields.ts";

/**
 * Normalises a schema-checked customer body into storage input, collecting every problem.
 * Shared by the webservice and `cmfd import`. "create" checks required fields and fills in
 * defaults; "update" takes the keys as they are; "import" checks required fields but fills in no
 * defaults (an imported record keeps exactly the fields it had).
 */
export function customerInput(schema: CustomerSchema, body: Record<string, unknown>, mode: "create" | "update" | "import"): CustomerPatch {
  const fields: Record<string, unknown> = {};
  const problems: string[] = [];
  let segments: number[] | null | undefined;
  for (const [name, value] of Object.entries(body)) {
    if (name === "segments") {
      segments = value as number[] | null;
      continue;
    }
    try {
      fields[name] = schema.normalise(schema.byName(name)!, value);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (mode !== "update") {
    for (const def of schema.fields) {
      const present = fields[def.name] !== undefined && fields[def.name] !== null;
      if (!present && def.default !== undefined && mode === "create") fields[def.name] = def.default;
      else if (!present && def.required) problems.push(`${def.name}: required`);
    }
  }
  if (problems.length) {
    throw invalid(problems.length === 1 ? `Invalid body: ${problems[0]}` : `Invalid body: ${problems.length} problems`, problems);
  }
  return { fields, segments: mode === "update" ? segments : (segments ?? []), fieldOrder: schema.fieldOrder };
}
