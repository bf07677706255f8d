// ESLint flat config: TypeScript sources, tasks, scripts and tests.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "artifacts/",
      "cache/",
      "typechain-types/",
      "coverage/",
      "dist/",
      "ignition/deployments/",
      "out/",
      "cache_forge/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain CommonJS executables (e.g. the forge solc shim) load modules with require().
    files: ["**/*.js"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    languageOptions: { globals: { ...globals.node, ...globals.mocha } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-unused-expressions": "off",
    },
  },
  {
    // The web app runs in browsers; web/lib.ts is the bundle's entry (scripts/build-web.ts).
    files: ["web/**/*.ts"],
    languageOptions: { globals: { ...globals.browser } },
  },
);
