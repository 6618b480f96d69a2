import { ApiObject, JsonPatch } from 'cdk8s';

/**
 * Applies JSON patches to an object after its typed serialization. cdk8s-plus-28's bindings model
 * the Kubernetes 1.28 API and drop fields they do not know (a patch added with `addJsonPatch` runs
 * before that filter), so newer fields the clusters support, such as the preStop `sleep` action of
 * Kubernetes 1.30, go through here. The schema check of dist/k8s validates the result.
 */
export function patchAfterSerialization(obj: ApiObject, ...patches: JsonPatch[]): void {
  const serialize = obj.toJson.bind(obj);
  obj.toJson = () => JsonPatch.apply(serialize(), ...patches);
}
