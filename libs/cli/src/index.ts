export { COMMANDS, type Command } from './cli.commands.js';
export { CliContext, endpointsFrom, table, type Endpoints, type Env, type Output } from './cli.context.js';
export { CliError, UsageError } from './cli.errors.js';
export { runCli, usage } from './cli.runner.js';
export { tailTopic, topicOf } from './tail.command.js';
export { runLifecycleScenario, type ScenarioOptions, type ScenarioResult } from './demo.scenario.js';
