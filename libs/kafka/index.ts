export * from './client';
export * from './topics';
export * from './read-to-end';
