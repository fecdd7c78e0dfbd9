/** Client addresses in one canonical form, so limits and checks compare like with like. */

/** Canonical text of an IP address: IPv4-mapped IPv6 becomes IPv4, IPv6 is compressed. */
export function canonicalHost(host: string): string {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped) return mapped[1];
  if (!bare.includes(":")) return bare;
  try {
    const canon = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
    const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canon);
    if (!m) return canon;
    const hi = parseInt(m[1], 16), lo = parseInt(m[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  } catch {
    return bare;
  }
}
