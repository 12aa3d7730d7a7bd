import type { Store, ReadTxn } from "./store.ts";

// Placeholder until the activities store lands: customers have no activities yet.

/** Deletes every activity of a customer, logging each deletion. Call inside a write. */
export function deleteActivitiesOfCustomer(_store: Store, _customerId: number, _now: number): void {}

/** The customer's activities in the embedded format (JSON strings), ordered by activityDate, id. */
export function embeddedActivitiesJson(_store: Store, _customerId: number, _txn?: ReadTxn): string[] {
  return [];
}
