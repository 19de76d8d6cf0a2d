export {};
// Filled in by the breaker.
