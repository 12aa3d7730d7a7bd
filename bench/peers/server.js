// What a Node developer would write instead of cmfd: Fastify + better-sqlite3, the same routes
// and envelopes for what the benchmark calls, API-key auth against a table, durable writes
// (WAL, synchronous=FULL). Written the straightforward way, as a team would on day one.
//
//   node bench/peers/server.js --db FILE --port 8092 --key API_KEY
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import Fastify from "fastify";

const { values } = parseArgs({ options: { db: { type: "string" }, port: { type: "string", default: "8092" }, key: { type: "string" } } });
const PREFIX = "/__customermanagementframework/webservice";
const db = new Database(values.db);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.exec(readFileSync(new URL("./schema.sql", import.meta.url), "utf8"));
const sha256 = (s) => createHash("sha256").update(s).digest("hex");
if (values.key) db.prepare("INSERT OR IGNORE INTO api_keys (hash, user) VALUES (?, 'admin')").run(sha256(values.key));

const FIELDS = ["active", "firstname", "lastname", "gender", "birthdate", "customerLanguage", "street", "zip", "city", "countryCode", "email", "phone"];
const q = {
  key: db.prepare("SELECT user FROM api_keys WHERE hash = ?"),
  customer: db.prepare("SELECT * FROM customers WHERE id = ?"),
  segmentsOf: db.prepare("SELECT segment_id FROM customer_segments WHERE customer_id = ? ORDER BY segment_id"),
  page: db.prepare("SELECT * FROM customers ORDER BY id LIMIT ? OFFSET ?"),
  count: db.prepare("SELECT count(*) AS n FROM customers"),
  pageOfSegment: db.prepare("SELECT c.* FROM customer_segments s JOIN customers c ON c.id = s.customer_id WHERE s.segment_id = ? ORDER BY s.customer_id LIMIT ? OFFSET ?"),
  countOfSegment: db.prepare("SELECT count(*) AS n FROM customer_segments WHERE segment_id = ?"),
  activitiesOfType: db.prepare("SELECT * FROM activities WHERE type = ? ORDER BY activityDate, id LIMIT ? OFFSET ?"),
  countOfType: db.prepare("SELECT count(*) AS n FROM activities WHERE type = ?"),
  insertCustomer: db.prepare(
    `INSERT INTO customers (${FIELDS.join(", ")}, idEncoded, creationDate, modificationDate) VALUES (${FIELDS.map(() => "?").join(", ")}, '', ?, ?)`,
  ),
  setIdEncoded: db.prepare("UPDATE customers SET idEncoded = ? WHERE id = ?"),
  insertActivity: db.prepare(
    "INSERT INTO activities (customerId, activityDate, type, implementationClass, a_id, attributes, md5, creationDate, modificationDate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  ),
  activity: db.prepare("SELECT * FROM activities WHERE id = ?"),
  customerExists: db.prepare("SELECT 1 FROM customers WHERE id = ?"),
};

const now = () => Math.floor(Date.now() / 1000);
const links = (resource, id) => [{ rel: "self", href: `${PREFIX}/${resource}/${id}`, method: "GET" }];

function customerOut(row) {
  const out = { id: row.id };
  for (const f of FIELDS) if (row[f] !== null) out[f] = f === "active" ? row[f] === 1 : row[f];
  out.idEncoded = row.idEncoded;
  out.modificationDate = row.modificationDate;
  out.creationDate = row.creationDate;
  out.segments = q.segmentsOf.all(row.id).map((s) => s.segment_id);
  out._links = links("customers", row.id);
  return out;
}

function activityOut(row) {
  return {
    id: row.id,
    customerId: row.customerId,
    activityDate: row.activityDate,
    type: row.type,
    implementationClass: row.implementationClass,
    o_id: null,
    a_id: row.a_id,
    attributes: JSON.parse(row.attributes),
    md5: row.md5,
    creationDate: row.creationDate,
    modificationDate: row.modificationDate,
    _links: links("activities", row.id),
  };
}

function paging(query) {
  const page = query.page === undefined ? 1 : Number(query.page);
  const pageSize = Math.min(query.pageSize === undefined ? 100 : Number(query.pageSize), 1000);
  if (!Number.isInteger(page) || page < 1 || !Number.isInteger(pageSize) || pageSize < 1) throw Object.assign(new Error("Invalid paging"), { statusCode: 400 });
  return { page, pageSize, offset: (page - 1) * pageSize };
}

const list = (p, total, data) => ({ page: p.page, totalPages: Math.ceil(total / p.pageSize), pageSize: p.pageSize, total, timestamp: now(), data });

const app = Fastify({ logger: false });

app.setErrorHandler((err, req, reply) => {
  const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
  reply.code(status === 422 ? 400 : status).send({ success: false, msg: err.message, errors: [err.message] });
});

app.addHook("onRequest", async (req, reply) => {
  if (!req.url.startsWith(PREFIX)) return;
  const key = req.headers["x-api-key"];
  if (!key || !q.key.get(sha256(key))) {
    reply.code(401).send({ success: false, msg: "Invalid credentials", errors: ["Invalid credentials"] });
    return reply;
  }
});

app.get("/healthz", async () => ({ status: "ok" }));

app.get(`${PREFIX}/customers/:id`, async (req, reply) => {
  const row = q.customer.get(Number(req.params.id));
  if (!row) return reply.code(404).send({ success: false, msg: `Customer with ID ${req.params.id} was not found`, errors: [] });
  return { timestamp: now(), data: customerOut(row) };
});

app.get(`${PREFIX}/customers`, async (req) => {
  const p = paging(req.query);
  const segment = req.query.segments === undefined ? undefined : Number(String(req.query.segments).split(",")[0]);
  if (segment !== undefined) {
    const total = q.countOfSegment.get(segment).n;
    return list(p, total, q.pageOfSegment.all(segment, p.pageSize, p.offset).map(customerOut));
  }
  const total = q.count.get().n;
  return list(p, total, q.page.all(p.pageSize, p.offset).map(customerOut));
});

app.get(`${PREFIX}/activities`, async (req) => {
  const p = paging(req.query);
  const type = String(req.query.type ?? "");
  const total = q.countOfType.get(type).n;
  return list(p, total, q.activitiesOfType.all(type, p.pageSize, p.offset).map(activityOut));
});

const customerBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    active: { type: "boolean" },
    firstname: { type: "string", maxLength: 255 },
    lastname: { type: "string", maxLength: 255 },
    gender: { type: "string", enum: ["male", "female", "other"] },
    birthdate: { type: "integer" },
    customerLanguage: { type: "string" },
    street: { type: "string", maxLength: 255 },
    zip: { type: "string", maxLength: 255 },
    city: { type: "string", maxLength: 255 },
    countryCode: { type: "string", minLength: 2, maxLength: 2 },
    email: { type: "string", format: "email" },
    phone: { type: "string", maxLength: 255 },
    segments: { type: "array", items: { type: "integer" } },
  },
};

const createCustomer = db.transaction((body, t) => {
  const values = FIELDS.map((f) => (body[f] === undefined ? (f === "active" ? 1 : null) : typeof body[f] === "boolean" ? (body[f] ? 1 : 0) : body[f]));
  const id = Number(q.insertCustomer.run(...values, t, t).lastInsertRowid);
  q.setIdEncoded.run(createHash("md5").update(String(id)).digest("hex"), id);
  const seg = db.prepare("INSERT OR IGNORE INTO customer_segments (segment_id, customer_id) VALUES (?, ?)");
  for (const s of body.segments ?? []) seg.run(s, id);
  return id;
});

app.post(`${PREFIX}/customers`, { schema: { body: customerBody } }, async (req, reply) => {
  const id = createCustomer(req.body, now());
  reply.code(201);
  return { timestamp: now(), data: customerOut(q.customer.get(id)) };
});

const activityBody = {
  type: "object",
  required: ["customerId", "type"],
  additionalProperties: false,
  properties: {
    customerId: { type: "integer", minimum: 1 },
    type: { type: "string", minLength: 1, maxLength: 255 },
    activityDate: { type: "integer" },
    attributes: { type: "object" },
    a_id: { type: ["string", "null"], maxLength: 255 },
  },
};

app.post(`${PREFIX}/activities`, { schema: { body: activityBody } }, async (req, reply) => {
  const b = req.body;
  if (!q.customerExists.get(b.customerId)) return reply.code(400).send({ success: false, msg: `customer ${b.customerId} not found`, errors: [] });
  const t = now();
  const date = b.activityDate ?? t;
  const attributes = JSON.stringify(b.attributes ?? {});
  const md5 = createHash("md5").update(JSON.stringify([b.customerId, b.type, date, attributes])).digest("hex");
  const cls = "CustomerManagementFrameworkBundle\\Model\\Activity\\GenericActivity";
  const id = Number(q.insertActivity.run(b.customerId, date, b.type, cls, b.a_id ?? null, attributes, md5, t, t).lastInsertRowid);
  reply.code(201);
  return { timestamp: t, data: activityOut(q.activity.get(id)) };
});

await app.listen({ host: "127.0.0.1", port: Number(values.port) });
console.log(JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${values.port}` }));
process.on("SIGTERM", async () => {
  await app.close();
  db.close();
  process.exit(0);
});
