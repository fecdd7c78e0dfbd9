/**
 * What the server is doing right now, for every door: the transfers
 * running and the bytes moved, so a status line can show counts and a rate.
 */

/** A running transfer as the count sees it: its bytes so far, kept current by the door. */
export interface Moving {
  readonly bytes: number;
}

/** A snapshot of the server's activity. */
export interface ServerStatus {
  /** Connections open now, all doors. */
  clients: number;
  /** Transfers running now. */
  transfers: number;
  /** Bytes the running transfers have moved so far. */
  running: number;
  /** Bytes moved since the server started, finished transfers included: rates are its deltas. */
  total: number;
}

/** The transfers running, and the bytes the finished ones moved. */
export class Activity {
  readonly #running = new Set<Moving>();
  #finished = 0;

  /** Counts a transfer in; the returned function counts it out (once). */
  begin(t: Moving): () => void {
    this.#running.add(t);
    return () => {
      if (this.#running.delete(t)) this.#finished += t.bytes;
    };
  }

  /** The activity now, with `clients` connections open. */
  snapshot(clients: number): ServerStatus {
    let running = 0;
    for (const t of this.#running) running += t.bytes;
    return { clients, transfers: this.#running.size, running, total: this.#finished + running };
  }
}
