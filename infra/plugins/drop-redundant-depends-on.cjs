'use strict';
/**
 * osls writes `DependsOn` entries a resource already has through a `Ref`,
 * `Fn::GetAtt` or `Fn::Sub` of the same resource (a function on its role, an
 * HTTP API route on its integration). CloudFormation derives that order from
 * the reference anyway, and cfn-lint warns about each (W3005):
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html
 * This drops them before the template is written, so the packaged template
 * lints clean; every other DependsOn stays.
 */

/** Logical ids a value refers to through Ref, Fn::GetAtt or Fn::Sub. */
function referenced(value, found = new Set()) {
  if (Array.isArray(value)) {
    for (const item of value) referenced(item, found);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string') found.add(inner);
      else if (key === 'Fn::GetAtt') found.add(Array.isArray(inner) ? String(inner[0]) : String(inner).split('.')[0]);
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(inner) ? inner[0] : inner;
        if (typeof text === 'string') for (const match of text.matchAll(/\$\{([^!}][^}.]*)/g)) found.add(match[1]);
      }
      referenced(inner, found);
    }
  }
  return found;
}

function dropRedundantDependsOn(template) {
  for (const resource of Object.values(template.Resources ?? {})) {
    if (resource.DependsOn === undefined) continue;
    const refs = referenced(resource.Properties ?? {});
    const kept = [resource.DependsOn].flat().filter((id) => !refs.has(id));
    if (kept.length === 0) delete resource.DependsOn;
    else resource.DependsOn = kept;
  }
}

class DropRedundantDependsOnPlugin {
  constructor(serverless) {
    const template = () => serverless.service.provider.compiledCloudFormationTemplate;
    this.hooks = {
      // After the custom resources are merged in, before the template is saved.
      'before:aws:package:finalize:saveServiceState': () => dropRedundantDependsOn(template()),
    };
  }
}

module.exports = DropRedundantDependsOnPlugin;
module.exports.dropRedundantDependsOn = dropRedundantDependsOn;
