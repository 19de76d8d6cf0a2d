/** Escapes a value used inside a key so it can neither break out of a hash tag nor collide with a separator. */
export function keyPart(value: string): string {
  return value.replace(/[{}:%\s]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
