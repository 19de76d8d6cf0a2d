/** Two projects: fast unit tests (no services) and integration/e2e tests against real Kafka, Redis, Prometheus. */
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  // jose ships ES modules only; Jest's CommonJS runtime needs them compiled (transpile-only, no type check).
  '^.+/node_modules/jose/.+\\.js$': [
    'ts-jest',
    { tsconfig: { allowJs: true, isolatedModules: true, module: 'commonjs', target: 'ES2022' } },
  ],
};
const transformIgnorePatterns = ['/node_modules/(?!jose/)'];
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      roots: ['<rootDir>/libs', '<rootDir>/services', '<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      transformIgnorePatterns,
      roots: ['<rootDir>/test/integration', '<rootDir>/test/e2e'],
      testMatch: ['**/*.test.ts'],
      slowTestThreshold: 30,
    },
  ],
};
