// solidity-coverage settings for `npx hardhat coverage`.
// The run fails unless CredentialAnchor.sol keeps at least 95% line and branch coverage.
const fs = require("node:fs");
const path = require("node:path");

const THRESHOLD = Number(process.env.CREDANCHOR_COVERAGE_MIN || 95);
const GATED = ["lines", "branches"];

module.exports = {
  istanbulReporter: ["text", "json-summary", "json", "lcov"],
  onIstanbulComplete: async (config) => {
    const summaryPath = path.join(config.paths.root, "coverage", "coverage-summary.json");
    const summary = JSON.parse(fs.readFileSync(summaryPath, "utf8"));
    const file = Object.keys(summary).find((key) => key.endsWith("contracts/CredentialAnchor.sol"));
    if (file === undefined) {
      throw new Error(`coverage: no entry for contracts/CredentialAnchor.sol in ${summaryPath}`);
    }
    const below = GATED.filter((metric) => summary[file][metric].pct < THRESHOLD);
    for (const metric of GATED) {
      console.log(`coverage gate: CredentialAnchor.sol ${metric} ${summary[file][metric].pct}% (minimum ${THRESHOLD}%)`);
    }
    if (below.length > 0) {
      throw new Error(`coverage below ${THRESHOLD}% for CredentialAnchor.sol: ${below.join(", ")}`);
    }
  },
};
