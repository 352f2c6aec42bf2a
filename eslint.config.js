// ESLint flat config: the recommended rules of ESLint and typescript-eslint (no stylistic or
// formatting rules) on src, test, bench, scripts and bin; three type-aware promise rules on src only;
// and a rule that keeps SQL inside src/engine.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { defineConfig } from 'eslint/config';

/** SQL keywords that start a statement; upper case only, followed by white space ('DELETE' alone is an HTTP method). */
const SQL_START = String.raw`/^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA|DROP|ALTER|REPLACE|WITH)\s/`;
/** Receivers of .exec() that are regular expressions (RegExp#exec), not a database handle. */
const REGEX_NAME = String.raw`/(^re|RE|Re|[Rr]egexp?|REGEXP?|[Pp]attern|PATTERN)$/`;
const SQL_HINT = 'SQL lives only in src/engine: expose a function from src/engine/index.ts instead.';

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.bench/**'] },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { globals: globals.node },
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore marks a binding that is unused on purpose (`const { normalized: _n, ...rest }`).
      // Matching control characters is the point where untrusted text is checked or cleaned.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Benchmarks read JSON lines of their child processes loosely.
    files: ['bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Type-aware: only the promise rules, only on the shipped code. Their cost is building the program
    // of tsconfig.json (~6 s of ~14 s on 2 cores); test/ and bench/ would need test/tsconfig.json's
    // bigger program (the whole type-aware recommended set on everything: ~25 s).
    files: ['src/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/engine/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.property.name=/^(prepare|pragma)$/]',
          message: `A database call (.prepare/.pragma) outside src/engine. ${SQL_HINT}`,
        },
        {
          selector:
            "CallExpression[callee.property.name='exec']" +
            ':not([callee.object.regex])' +
            ":not([callee.object.type='NewExpression'][callee.object.callee.name='RegExp'])" +
            `:not([callee.object.name=${REGEX_NAME}])` +
            `:not([callee.object.property.name=${REGEX_NAME}])`,
          message: `A database call (.exec) outside src/engine. ${SQL_HINT} (RegExp#exec is fine on a regex literal or a variable named *RE, *Regex or *Pattern.)`,
        },
        { selector: `Literal[value=${SQL_START}]`, message: `SQL text outside src/engine. ${SQL_HINT}` },
        { selector: `TemplateLiteral[quasis.0.value.raw=${SQL_START}]`, message: `SQL text outside src/engine. ${SQL_HINT}` },
      ],
    },
  },
);
