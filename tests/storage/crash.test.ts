import { expect, test } from "bun:test";
import { openStore } from "../../src/storage/store.ts";
import { verifyStore } from "../../src/storage/verify.ts";
import { tempDir } from "../helpers.ts";

// A process killed with SIGKILL in the middle of a stream of writes must leave a store whose
// indexes, counts and references agree with its records (each write is one LMDB transaction).
test("SIGKILL during a stream of writes leaves a consistent store", async () => {
  const dir = tempDir("cmfd-kill");
  try {
    for (let round = 0; round < 3; round++) {
      const child = Bun.spawn([process.execPath, `${import.meta.dir}/fixtures/write-forever.ts`, dir.path], { stdout: "pipe", stderr: "inherit" });
      const reader = child.stdout.getReader();
      const { value } = await reader.read();
      expect(new TextDecoder().decode(value)).toContain("ready");
      await Bun.sleep(150 + Math.floor(Math.random() * 400));
      child.kill("SIGKILL");
      expect(await child.exited).not.toBe(0);

      const store = openStore({ path: dir.path, readOnly: true });
      try {
        const report = verifyStore(store);
        expect(report.violations).toEqual([]);
        expect(store.dbs.customers.getKeysCount()).toBeGreaterThan(0);
      } finally {
        await store.close();
      }
    }
  } finally {
    dir.cleanup();
  }
}, 60_000);
