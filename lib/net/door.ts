/** What every door's start function returns. */

/** A running door. */
export interface DoorHandle {
  /** Where it listens (the real port when 0 was asked). */
  addr: Deno.NetAddr;
  /** Stops accepting, lets transfers finish for up to `graceMs`, then closes every session. */
  stop(graceMs: number): Promise<void>;
}
