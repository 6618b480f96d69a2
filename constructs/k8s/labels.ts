/** The recommended `app.kubernetes.io` labels; selectors use only `name` and `instance`, which never change. */
export function appLabels(name: string, component: string, instance = name): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'ringforge',
    'app.kubernetes.io/managed-by': 'cdk8s',
  };
}

/** The subset of `appLabels` that selects pods: stable across releases, unlike version or component. */
export const selectorLabels = (name: string, instance = name): Record<string, string> => ({
  'app.kubernetes.io/name': name,
  'app.kubernetes.io/instance': instance,
});
