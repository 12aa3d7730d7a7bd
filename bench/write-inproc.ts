#!/usr/bin/env bun
/**
 * Durable write throughput of the storage layer alone (no HTTP): 50 writers, each awaiting its
 * write before the next, as 50 wrk connections do, for 5 s, on a copy of a generated data dir.
 * `activity` calls createActivity with the body the wrk scenario posts; `put` is the ceiling's
 * single put into a DB of its own. Prints writes/s, server CPU per write and writes per commit.
 * Run it under `strace -f -c -e trace=pwrite64,fdatasync` to see the pages each commit writes.
 *
 *   cp bench/data/S-…/data.mdb /tmp/w/ && bun bench/write-inproc.ts --dir /tmp/w [--mode activity|put]
 */
import { parseArgs } from "node:util";
import type { Database } from "lmdb";
import { openStore } from "../src/storage/store.ts";
import { createActivity } from "../src/storage/activities.ts";
import { BASE_TIME } from "./generate.ts";

const { values } = parseArgs({ options: { dir: { type: "string" }, mode: { type: "string", default: "activity" }, seconds: { type: "string", default: "5" } } });
if (!values.dir) throw new Error("--dir is required (a copy of a generated data dir: this writes into it)");
const store = openStore({ path: values.dir, durability: "sync" });
const puts = store.env.openDB({ name: "ceilingPuts", encoding: "binary", cache: false } as never) as unknown as Database<Buffer, number>;
const customers = store.read((txn) => store.dbs.customers.getKeysCount({ ...txn } as never));
const TYPES = ["page_view", "order", "newsletter_open", "login", "cart_add"];
const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
let nextPut = (puts.getKeysCount() as number) + 1;
let done = 0;
let stop = false;

async function writer() {
  while (!stop) {
    const input = {
      customerId: 1 + Math.floor(Math.random() * customers),
      type: pick(TYPES),
      activityDate: BASE_TIME + Math.floor(Math.random() * 86_400),
      attributes: { campaign: "spring-sale", url: "https://shop.example.com/shop", value: 12.5, items: 3 },
    };
    if (values.mode === "put") await puts.put(nextPut++, Buffer.from(JSON.stringify(input)));
    else await createActivity(store, input, Math.floor(Date.now() / 1000));
    done++;
  }
}

const txn0 = (store.env.getStats() as { lastTxnId: number }).lastTxnId;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const writers = Array.from({ length: 50 }, writer);
await Bun.sleep(Number(values.seconds) * 1000);
stop = true;
await Promise.all(writers);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const commits = (store.env.getStats() as { lastTxnId: number }).lastTxnId - txn0;
console.log(
  `${values.mode}: ${Math.round(done / seconds)} writes/s, ${((cpu.user + cpu.system) / done).toFixed(1)} µs CPU per write, ${(done / commits).toFixed(1)} writes per commit`,
);
await store.close();
