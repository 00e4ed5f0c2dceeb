// Hardhat 2 configuration for the CredentialAnchor contract.
//
// Compilation is fully offline: instead of letting Hardhat download solc, the
// TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD subtask is overridden to hand back the
// solc-js build that the pinned `solc` npm package ships (see package.json).
require("@nomicfoundation/hardhat-ethers");
require("@nomicfoundation/hardhat-chai-matchers");
require("@nomicfoundation/hardhat-network-helpers");
require("solidity-coverage");

const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const SOLC_VERSION = "0.8.30";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args, hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) {
    return runSuper(args);
  }
  const solc = require("solc");
  // solc.version() is e.g. "0.8.30+commit.73712a01.Emscripten.clang".
  const longVersion = solc.version().replace(/\.Emscripten\.clang$/, "");
  if (!longVersion.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`npm package solc is ${longVersion}, expected ${SOLC_VERSION}: run npm ci`);
  }
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion,
  };
});

/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      // Chosen to minimise anchor() gas, measured in docs/contract.md ("Gas"): the IR
      // pipeline saves ~195 gas per anchor over the legacy one, and anchor() gas stops
      // falling at runs = 100,000. Deployment costs more (paid once); anchors are paid forever.
      viaIR: true,
      optimizer: { enabled: true, runs: 1000000 },
      evmVersion: "prague",
    },
  },
  paths: {
    sources: "./contracts",
    tests: "./tests/contracts",
    cache: "./cache",
    artifacts: "./artifacts",
  },
  mocha: {
    timeout: 120000,
  },
};
