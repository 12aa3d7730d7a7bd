#!/usr/bin/env bun
/**
 * Writes a synthetic import file in the format of `cmfd export` (for measuring `cmfd import`,
 * backups and restores at scale): one segment group, 20 segments, N customers with the sample
 * class's fields and two segments each, and M activities.
 *
 *   bun scripts/generate-ndjson.ts --customers 1000000 [--activities 0] --out /tmp/customers.ndjson
 *
 * Keep big files out of the repository (e.g. in /tmp).
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { customers: { type: "string", default: "100000" }, activities: { type: "string", default: "0" }, out: { type: "string" } },
});
if (!values.out) {
  console.error("usage: bun scripts/generate-ndjson.ts --customers N [--activities M] --out FILE");
  process.exit(2);
}
const customers = Number(values.customers);
const activities = Number(values.activities);
const out = Bun.file(values.out).writer({ highWaterMark: 1 << 20 });
const line = (o: unknown) => out.write(JSON.stringify(o) + "\n");
const SEGMENTS = 20;
const T = 1_700_000_000;
const cities = ["Berlin", "Wien", "Zürich", "Graz", "Linz", "München", "Basel"];
const started = performance.now();

line({ kind: "cmfd-export", version: 1, counters: { customers, activities, segments: SEGMENTS, "segment-groups": 1 }, deletions: false });
line({ kind: "segment-group", id: 1, name: "Interests", calculated: false, modificationDate: T, creationDate: T });
for (let s = 1; s <= SEGMENTS; s++) line({ kind: "segment", id: s, name: `Segment ${s}`, group: 1, calculated: false, modificationDate: T, creationDate: T });
for (let i = 1; i <= customers; i++) {
  const a = 1 + (i % SEGMENTS);
  const b = 1 + ((i * 7 + 3) % SEGMENTS);
  line({
    kind: "customer",
    id: i,
    active: i % 10 !== 0,
    firstname: `First${i}`,
    lastname: `Last${i % 5000}`,
    gender: i % 2 ? "male" : "female",
    birthdate: 315_532_800 + (i % 10_000) * 86_400,
    customerLanguage: i % 3 ? "de" : "en_GB",
    street: `Example Street ${i % 300}`,
    zip: String(1000 + (i % 9000)),
    city: cities[i % cities.length],
    countryCode: i % 4 ? "AT" : "DE",
    email: `customer${i}@example.com`,
    phone: `+43 1 ${100000 + (i % 900000)}`,
    modificationDate: T + i,
    creationDate: T + i,
    segments: a === b ? [a] : [Math.min(a, b), Math.max(a, b)],
  });
}
for (let n = 1; n <= activities; n++) {
  line({ kind: "activity", id: n, customerId: 1 + (n * 7919) % customers, activityDate: T + (n % 5_000_000), type: n % 3 ? "booking" : "login", attributes: { amount: n % 500, channel: n % 2 ? "web" : "shop" }, modificationDate: T + n, creationDate: T + n });
}
await out.end();
console.error(`wrote ${customers} customers, ${activities} activities to ${values.out} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
