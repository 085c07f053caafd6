/** Reading a sweep directory back in tests. */
import { DB_FILE, SweepDb } from "../sweep/db.ts";

/** Every table of DIR/results.db, rows in key order. */
export function dumpSweep(dir: string): Record<string, unknown[]> {
  const db = SweepDb.openExisting(`${dir}/${DB_FILE}`);
  if (typeof db === "string") throw new Error(db);
  try {
    return db.dump();
  } finally {
    db.close();
  }
}
