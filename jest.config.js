/** Two projects: fast unit tests (no services) and integration/e2e tests against real Kafka, Redis, Prometheus. */
const ts = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: ts,
      roots: ['<rootDir>/libs', '<rootDir>/services', '<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: ts,
      roots: ['<rootDir>/test/integration', '<rootDir>/test/e2e'],
      testMatch: ['**/*.test.ts'],
      slowTestThreshold: 30,
    },
  ],
};
