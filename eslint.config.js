// Lint rules for nomadts. The import-direction rules are the mechanical form of
// docs/architecture.md: the pure core depends on nothing with side effects, a
// module is reached only through its index.ts, and the CLI/TUI sit on top.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

const sideEffectModules = [
  'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'net', 'node:net', 'dgram', 'node:dgram',
  'http', 'node:http', 'https', 'node:https', 'http2', 'node:http2', 'child_process',
  'node:child_process', 'cluster', 'node:cluster', 'worker_threads', 'node:worker_threads',
  'os', 'node:os', 'timers', 'node:timers', 'timers/promises', 'node:timers/promises',
  'crypto', 'node:crypto', 'process', 'node:process',
];

// A module is a folder with one public face; deeper paths into a sibling are refused.
// A relative import that leaves the current folder must end at a module's index.js.
const throughIndexOnly = {
  regex: '^(\\.\\./)+(?!(.*/)?index\\.js$).*$',
  message: 'Reach another module only through its index.ts (see docs/architecture.md).',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'proto/gen/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
      'import-x/no-cycle': ['error', { maxDepth: 8 }],
      'no-restricted-imports': ['error', { patterns: [throughIndexOnly] }],
    },
  },
  {
    // The deterministic core: no I/O, no wall clock, no ambient randomness, nothing above it.
    files: ['agent/core/**/*.ts'],
    ignores: ['agent/core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: sideEffectModules.map((name) => ({ name, message: 'agent/core is pure: effects live at the edge (agent/server, agent/client).' })),
        patterns: [
          throughIndexOnly,
          { regex: '^(\\.\\./)+(server|client|jobspec|runtime|cli|tui)(/|$)', message: 'agent/core depends on nothing above it.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'Use the injected Clock.' },
        { name: 'setInterval', message: 'Use the injected Clock.' },
        { name: 'setImmediate', message: 'Use the injected Clock.' },
        { name: 'process', message: 'agent/core has no process environment.' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'Use the injected Clock.' },
        { object: 'Math', property: 'random', message: 'Use the injected seeded Rng.' },
        { object: 'performance', property: 'now', message: 'Use the injected Clock.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Use the injected Clock.' },
      ],
    },
  },
  {
    // The Raft core and its seeded simulation are pure too: the driver (agent/raft/node) does the I/O.
    files: ['agent/raft/core/**/*.ts', 'agent/raft/sim/**/*.ts'],
    ignores: ['agent/raft/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: sideEffectModules.map((name) => ({ name, message: 'agent/raft/core and agent/raft/sim are pure: effects live in agent/raft/node.' })),
        patterns: [
          throughIndexOnly,
          { regex: '^(\\.\\./)+(node|transport|storage|server|client|runtime)(/|$)', message: 'The Raft core depends on nothing with side effects.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'Ticks come from the driver.' },
        { name: 'setInterval', message: 'Ticks come from the driver.' },
        { name: 'setImmediate', message: 'Ticks come from the driver.' },
        { name: 'process', message: 'The Raft core has no process environment.' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'Ticks come from the driver.' },
        { object: 'Math', property: 'random', message: 'Use the injected seeded Rng.' },
        { object: 'performance', property: 'now', message: 'Ticks come from the driver.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Ticks come from the driver.' },
      ],
    },
  },
  {
    // The gossip protocol's core is pure like agent/core: it sees the network only through its
    // Transport interface, time through a Clock and randomness through an Rng.
    files: ['agent/gossip/core/**/*.ts'],
    ignores: ['agent/gossip/core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: sideEffectModules.map((name) => ({ name, message: 'agent/gossip/core is pure: sockets, crypto and files live in agent/gossip/{net,keyring}.' })),
        patterns: [
          throughIndexOnly,
          { regex: '^\\.\\./(?!\\.\\./core/lib/index\\.js$)', message: 'agent/gossip/core depends only on agent/core/lib.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'Use the injected Clock.' },
        { name: 'setInterval', message: 'Use the injected Clock.' },
        { name: 'setImmediate', message: 'Use the injected Clock.' },
        { name: 'process', message: 'agent/gossip/core has no process environment.' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'Use the injected Clock.' },
        { object: 'Math', property: 'random', message: 'Use the injected seeded Rng.' },
        { object: 'performance', property: 'now', message: 'Use the injected Clock.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Use the injected Clock.' },
      ],
    },
  },
  {
    // The operator's tools reach the cluster only through the API client (and, for now, the
    // in-process server harness); never the state store, broker or plan applier directly.
    files: ['cli/**/*.ts', 'tui/**/*.ts', 'tui/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        throughIndexOnly,
        { regex: '/core/(state|broker|plan|worker|scheduler)/', message: 'cli/ and tui/ reach the cluster through the API client, not the core.' },
      ] }],
    },
  },
  {
    files: ['**/*.test.ts', '**/*.test.tsx', 'test/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
