import type { Store } from "../storage/store.ts";
import type { CustomerSchema } from "./customer-fields.ts";

/**
 * Refuses a field configuration that stored data violates (a changed type, a shortened maxLength,
 * a removed oneOf value). Runs a full scan only when the configuration changed since the last start.
 * Values of fields that are no longer configured are kept and still returned.
 */
export function checkStoredCustomers(store: Store, schema: CustomerSchema): void {
  const key = ["customerFields"];
  if (store.dbs.meta.get(key) === schema.fingerprint) return;
  const problems: string[] = [];
  let scanned = 0;
  for (const { value } of store.dbs.customers.getRange({})) {
    scanned++;
    const c = JSON.parse(value) as Record<string, unknown>;
    for (const def of schema.fields) {
      const v = c[def.name];
      if (v === undefined) continue;
      const problem = violation(schema, def.name, v);
      if (problem) problems.push(`customer ${c.id}: ${problem}`);
      if (problems.length >= 10) break;
    }
    if (problems.length >= 10) break;
  }
  if (problems.length) {
    throw new Error(
      `the customer field configuration does not fit the stored data (${problems.length >= 10 ? "first 10 problems" : "problems"}): ${problems.join("; ")}`,
    );
  }
  store.writeSync(() => store.dbs.meta.put(key, schema.fingerprint));
  void scanned;
}

function violation(schema: CustomerSchema, name: string, value: unknown): string | undefined {
  const def = schema.byName(name)!;
  const typeOk: Record<string, (v: unknown) => boolean> = {
    string: (v) => typeof v === "string",
    email: (v) => typeof v === "string",
    country: (v) => typeof v === "string",
    language: (v) => typeof v === "string",
    oneOf: (v) => typeof v === "string" && def.values!.includes(v),
    number: (v) => typeof v === "number",
    integer: (v) => Number.isInteger(v),
    date: (v) => Number.isInteger(v),
    boolean: (v) => typeof v === "boolean",
    stringList: (v) => Array.isArray(v) && v.every((s) => typeof s === "string"),
  };
  if (!typeOk[def.type]!(value)) return `${name} holds ${JSON.stringify(value)}, which is not of type ${def.type}${def.values ? ` (${def.values.join(", ")})` : ""}`;
  if (def.maxLength !== undefined) {
    const long = (s: unknown) => typeof s === "string" && s.length > def.maxLength!;
    if (long(value) || (Array.isArray(value) && value.some(long))) return `${name} is longer than the configured maxLength ${def.maxLength}`;
  }
  try {
    schema.normalise(def, value);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}
