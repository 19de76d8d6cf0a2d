/** Rules as data and the pure decisions around them; no Redis here (libs/engine holds the state). */
export * from './config';
export * from './address';
export * from './sanctions';
export * from './second-factor';
