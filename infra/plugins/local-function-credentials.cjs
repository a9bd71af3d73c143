'use strict';
/**
 * `osls offline` on stage local (`npm start`): each function calls AWS with
 * an access key id of its own, `local-<function>`, as in AWS each calls with
 * its own role. serverless-offline starts every function with the AWS_*
 * variables of the process that runs it, then the function's `environment`
 * over them, so the id is put in that environment here, for the offline run
 * only: a deployed function keeps no such variable (Lambda reserves it:
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
 * The emulator maps the id to the function's role in infra/ and refuses what
 * the role does not grant (local/emulator/iam.ts, functionAccessKeyId).
 * https://github.com/dherault/serverless-offline#environment-variables
 */
class LocalFunctionCredentialsPlugin {
  constructor(serverless, options = {}) {
    const apply = () => {
      const stage = options.stage ?? serverless.service.provider.stage;
      if (stage !== 'local') return;
      for (const [name, definition] of Object.entries(serverless.service.functions ?? {})) {
        definition.environment = { ...definition.environment, AWS_ACCESS_KEY_ID: `local-${name}` };
      }
    };
    this.hooks = { 'before:offline:start:init': apply, 'before:offline:start': apply };
  }
}

module.exports = LocalFunctionCredentialsPlugin;
