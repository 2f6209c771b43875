// Reference modular exponentiation in plain BigInt: left-to-right with a 4-bit fixed window.
// It is the fallback route and the yardstick the OpenSSL route is self-tested against.
// Not constant-time (BigInt never is); the OpenSSL route is, which is one more reason to prefer it.

/** base^exp mod m for m ≥ 1, exp ≥ 0. */
export function modPowBigint(base: bigint, exp: bigint, m: bigint): bigint {
  if (m === 1n) return 0n;
  if (exp < 0n) throw new RangeError('modPowBigint: negative exponent');
  base %= m;
  if (base < 0n) base += m;
  if (exp === 0n) return 1n;
  const table: bigint[] = [1n, base];
  for (let i = 2; i < 16; i++) table.push((table[i - 1]! * base) % m);
  let hex = exp.toString(16);
  let acc = table[parseInt(hex[0]!, 16)]!;
  for (let i = 1; i < hex.length; i++) {
    for (let k = 0; k < 4; k++) acc = (acc * acc) % m;
    const digit = parseInt(hex[i]!, 16);
    if (digit !== 0) acc = (acc * table[digit]!) % m;
  }
  hex = '';
  return acc;
}
