// Component ids: `type` or `type/name`, as in the OpenTelemetry Collector.

export interface ComponentId {
  type: string;
  name: string;
  /** `type` or `type/name`, as written in the config. */
  text: string;
}

const TYPE_PATTERN = /^[a-zA-Z][a-zA-Z0-9_]*$/;

/** Parses `type[/name]`; returns an error message when it is not one. */
export function parseComponentId(text: string): ComponentId | string {
  const slash = text.indexOf('/');
  const type = slash < 0 ? text : text.slice(0, slash);
  const name = slash < 0 ? '' : text.slice(slash + 1);
  if (!TYPE_PATTERN.test(type)) {
    return `"${text}" is not a component id: expected type[/name], the type made of letters, digits and _`;
  }
  if (slash >= 0 && (name === '' || /[\s/]/.test(name))) {
    return `"${text}" is not a component id: the name after "/" must be non-empty, without spaces or "/"`;
  }
  return { type, name, text };
}
