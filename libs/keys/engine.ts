export {};
// Filled in by the rule engine.
