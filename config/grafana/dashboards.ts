// The source of config/grafana/dashboards/*.json: the seed's views as Grafana dashboards over the
// Prometheus series bpfcol exports with config/kubernetes/configmap.yaml's config (resource
// attributes as labels). Edit here, then write the JSON files:
//   node config/grafana/dashboards.ts
// test/ship/dashboards.test.ts checks the files are what this writes, and runs every panel's query
// against a Prometheus that scraped a bpfcol under real load.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Json = Record<string, unknown>;

const DS = { type: 'prometheus', uid: '${datasource}' };
const RATE = '$__rate_interval';

// ---- variables -------------------------------------------------------------------------------

function datasourceVar(): Json {
  return { name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1, options: [] };
}

/** A query variable: label_values(selector, label), All allowed (regex .*). */
function queryVar(name: string, label: string, selector: string, title: string, options: { all?: boolean } = {}): Json {
  const query = `label_values(${selector}, ${label})`;
  return {
    name,
    label: title,
    type: 'query',
    datasource: DS,
    definition: query,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 },
    refresh: 2,
    sort: 1,
    includeAll: options.all ?? true,
    allValue: '.*',
    multi: options.all ?? true,
    current: {},
    options: [],
    hide: 0,
  };
}

function constVar(name: string, value: string, title: string, description: string): Json {
  return { name, label: title, description, type: 'textbox', query: value, current: { text: value, value }, options: [{ selected: true, text: value, value }], hide: 0 };
}

const FREQ = constVar('frequency', '99', 'Samples/s', "perf_sampling's frequency: samples per second on each CPU.");
const CLUSTER = queryVar('cluster', 'k8s_cluster_name', 'system_cpu_time_seconds_total', 'Cluster');
const C = 'k8s_cluster_name=~"$cluster"';

// ---- panels ----------------------------------------------------------------------------------

interface Target {
  expr: string;
  legend?: string;
  refId?: string;
  /** Instant table query (tables, stats, node graphs). */
  table?: boolean;
}

interface PanelOptions {
  w?: number;
  h?: number;
  unit?: string;
  description?: string;
  stack?: boolean;
  links?: { title: string; url: string }[];
  decimals?: number;
  min?: number;
  max?: number;
  overrides?: Json[];
  transformations?: Json[];
  options?: Json;
}

function targets(list: Target[]): Json[] {
  return list.map((t, i) => ({
    refId: t.refId ?? String.fromCharCode(65 + i),
    datasource: DS,
    expr: t.expr,
    legendFormat: t.legend ?? '__auto',
    range: !t.table,
    instant: !!t.table,
    format: t.table ? 'table' : 'time_series',
    editorMode: 'code',
  }));
}

function fieldConfig(o: PanelOptions, custom: Json = {}): Json {
  return {
    defaults: {
      ...(o.unit && { unit: o.unit }),
      ...(o.decimals !== undefined && { decimals: o.decimals }),
      ...(o.min !== undefined && { min: o.min }),
      ...(o.max !== undefined && { max: o.max }),
      ...(o.links && { links: o.links.map((l) => ({ ...l, targetBlank: l.url.startsWith('$') || l.url.startsWith('http') })) }),
      custom,
    },
    overrides: o.overrides ?? [],
  };
}

function timeseries(title: string, list: Target[], o: PanelOptions = {}): Json {
  return {
    type: 'timeseries',
    title,
    description: o.description ?? '',
    datasource: DS,
    targets: targets(list),
    fieldConfig: fieldConfig(o, { drawStyle: 'line', lineWidth: 1, fillOpacity: o.stack ? 60 : 10, showPoints: 'never', stacking: { mode: o.stack ? 'normal' : 'none', group: 'A' } }),
    options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' }, ...o.options },
    _size: [o.w ?? 12, o.h ?? 8],
  };
}

function stat(title: string, expr: string, o: PanelOptions = {}): Json {
  return {
    type: 'stat',
    title,
    description: o.description ?? '',
    datasource: DS,
    targets: targets([{ expr, table: false, legend: title }]),
    fieldConfig: fieldConfig(o),
    options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area', textMode: 'auto', justifyMode: 'auto', orientation: 'auto' },
    _size: [o.w ?? 4, o.h ?? 4],
  };
}

/** Instant queries merged into one table on their common labels. */
function table(title: string, list: Target[], o: PanelOptions & { hide?: string[]; rename?: Record<string, string> } = {}): Json {
  const hidden = Object.fromEntries(['Time', ...(o.hide ?? [])].map((f) => [f, true]));
  return {
    type: 'table',
    title,
    description: o.description ?? '',
    datasource: DS,
    targets: targets(list.map((t) => ({ ...t, table: true }))),
    fieldConfig: fieldConfig(o),
    options: { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' }, ...o.options },
    transformations: [{ id: 'merge', options: {} }, { id: 'organize', options: { excludeByName: hidden, renameByName: o.rename ?? {} } }, ...(o.transformations ?? [])],
    _size: [o.w ?? 24, o.h ?? 8],
  };
}

/**
 * A Node Graph: a `nodes` frame (id, title, mainstat) and an `edges` frame (id, source, target,
 * mainstat), each an instant table query named by its refId (the panel takes frames named nodes
 * and edges). The id/title/source/target labels are made in PromQL (label_replace, label_join);
 * the value columns are renamed mainstat.
 */
function nodeGraph(title: string, nodes: string, edges: string, o: PanelOptions & { nodeUnit: string; edgeUnit: string }): Json {
  return {
    type: 'nodeGraph',
    title,
    description: o.description ?? '',
    datasource: DS,
    targets: targets([
      { refId: 'nodes', expr: nodes, table: true },
      { refId: 'edges', expr: edges, table: true },
    ]),
    transformations: [{ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { 'Value #nodes': 'mainstat', 'Value #edges': 'mainstat' } } }],
    fieldConfig: fieldConfig(o),
    options: { nodes: { mainStatUnit: o.nodeUnit }, edges: { mainStatUnit: o.edgeUnit } },
    _size: [o.w ?? 24, o.h ?? 14],
  };
}

function text(title: string, content: string, o: PanelOptions = {}): Json {
  return { type: 'text', title, options: { mode: 'markdown', content }, _size: [o.w ?? 24, o.h ?? 4] };
}

function row(title: string): Json {
  return { type: 'row', title, collapsed: false, panels: [], _size: [24, 1] };
}

// ---- dashboards ------------------------------------------------------------------------------

const DASHBOARD_LINKS = [{ title: 'bpfcol', type: 'dashboards', tags: ['bpfcol'], asDropdown: true, includeVars: true, keepTime: true, icon: 'external link' }];

function dashboard(uid: string, title: string, description: string, variables: Json[], panels: Json[]): Json {
  // Panels flow left to right, 24 columns wide, in rows of the tallest panel.
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const laid = panels.map((p, i) => {
    const [w, h] = p._size as [number, number];
    if (x + w > 24 || p.type === 'row') {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const { _size, ...rest } = p;
    const out = { id: i + 1, gridPos: { x, y, w, h }, ...rest };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    if (p.type === 'row') {
      x = 0;
      y += h;
      rowHeight = 0;
    }
    return out;
  });
  return {
    uid,
    title,
    description,
    tags: ['bpfcol'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    links: DASHBOARD_LINKS,
    annotations: { list: [] },
    templating: { list: [datasourceVar(), ...variables] },
    panels: laid,
  };
}

const sel = (...parts: string[]) => `{${parts.filter(Boolean).join(', ')}}`;

function cluster(): Json {
  const cpuUsed = `sum by (k8s_node_name) (rate(system_cpu_time_seconds_total${sel(C, 'cpu_mode!~"idle|iowait"')}[${RATE}]))`;
  const cpus = `sum by (k8s_node_name) (system_cpu_logical_count${sel(C)})`;
  const memUsed = `sum by (k8s_node_name) (system_memory_usage_bytes${sel(C, 'system_memory_state="used"')})`;
  const memTotal = `sum by (k8s_node_name) (system_memory_limit_bytes${sel(C)})`;
  // Pod counts come from the API (k8s_metadata's cache, reported by resources): pods whose cgroups
  // bpfcol cannot see yet (pending, just scheduled) count too.
  const podsPerNode = `sum by (k8s_node_name) (k8s_pod_count${sel(C)})`;
  return dashboard('bpfcol-cluster', 'bpfcol / Cluster', 'The nodes of the cluster with their CPU and memory use and the pods each runs.', [CLUSTER], [
    stat('Nodes', `count(${cpus})`),
    stat('Pods', `sum(k8s_pod_count${sel(C)})`),
    stat('Namespaces', `count(sum by (k8s_namespace_name) (k8s_pod_count${sel(C)}) > 0)`, { description: 'Namespaces with pods.' }),
    stat('CPU in use', `sum(${cpuUsed}) / sum(${cpus})`, { unit: 'percentunit', decimals: 1 }),
    stat('Memory in use', `sum(${memUsed}) / sum(${memTotal})`, { unit: 'percentunit', decimals: 1 }),
    stat('TCP drops /s', `sum(rate(tcp_drops_total${sel(C)}[${RATE}]))`, { unit: 'pps', decimals: 2 }),
    table(
      'Nodes',
      [
        { expr: cpus, refId: 'cpus' },
        { expr: `${cpuUsed} / ${cpus}`, refId: 'cpu' },
        { expr: memUsed, refId: 'mem' },
        { expr: `${memUsed} / ${memTotal}`, refId: 'memshare' },
        { expr: podsPerNode, refId: 'pods' },
      ],
      {
        rename: { k8s_node_name: 'node', 'Value #cpus': 'CPUs', 'Value #cpu': 'CPU in use', 'Value #mem': 'memory used', 'Value #memshare': 'memory in use', 'Value #pods': 'pods' },
        overrides: [
          { matcher: { id: 'byName', options: 'CPU in use' }, properties: [{ id: 'unit', value: 'percentunit' }, { id: 'custom.cellOptions', value: { type: 'gauge', mode: 'basic' } }, { id: 'max', value: 1 }] },
          { matcher: { id: 'byName', options: 'memory in use' }, properties: [{ id: 'unit', value: 'percentunit' }, { id: 'custom.cellOptions', value: { type: 'gauge', mode: 'basic' } }, { id: 'max', value: 1 }] },
          { matcher: { id: 'byName', options: 'memory used' }, properties: [{ id: 'unit', value: 'bytes' }] },
          { matcher: { id: 'byName', options: 'node' }, properties: [{ id: 'links', value: [{ title: 'Node view', url: '/d/bpfcol-node?var-cluster=${cluster}&var-node=${__value.raw}&${__url_time_range}' }] }] },
        ],
        description: 'Select a node for its own view.',
      },
    ),
    timeseries('CPU in use per node', [{ expr: `${cpuUsed} / ${cpus}`, legend: '{{k8s_node_name}}' }], { unit: 'percentunit', min: 0, max: 1 }),
    timeseries('Memory in use per node', [{ expr: `${memUsed} / ${memTotal}`, legend: '{{k8s_node_name}}' }], { unit: 'percentunit', min: 0, max: 1 }),
    timeseries('Pods per node', [{ expr: podsPerNode, legend: '{{k8s_node_name}}' }], { unit: 'short', decimals: 0 }),
    timeseries('Network per node (received + sent)', [{ expr: `sum by (k8s_node_name) (rate(system_network_io_bytes_total${sel(C)}[${RATE}]))`, legend: '{{k8s_node_name}}' }], { unit: 'Bps' }),
  ]);
}

function node(): Json {
  const N = 'k8s_node_name=~"$node"';
  const NODE = queryVar('node', 'k8s_node_name', `system_cpu_time_seconds_total${sel(C)}`, 'Node');
  return dashboard('bpfcol-node', 'bpfcol / Node', "One node's CPU, memory, network and disks, and the pods on it.", [CLUSTER, NODE], [
    stat('CPUs', `sum(system_cpu_logical_count${sel(C, N)})`),
    stat('Memory', `sum(system_memory_limit_bytes${sel(C, N)})`, { unit: 'bytes' }),
    stat('Load (1m)', `sum(system_cpu_load_average_1m${sel(C, N)})`, { decimals: 2 }),
    stat('Uptime', `max(system_uptime_seconds${sel(C, N)})`, { unit: 's' }),
    stat('Pods', `sum(k8s_pod_count${sel(C, N)})`),
    stat('TCP retransmits /s', `sum(rate(tcp_retransmits_total${sel(C, N)}[${RATE}]))`, { unit: 'short', decimals: 2 }),
    timeseries('CPU by mode', [{ expr: `sum by (cpu_mode) (rate(system_cpu_time_seconds_total${sel(C, N, 'cpu_mode!="idle"')}[${RATE}]))`, legend: '{{cpu_mode}}' }], { unit: 'short', stack: true, description: 'CPUs busy, by what they did.' }),
    timeseries(
      'Memory',
      [
        { expr: `sum by (system_memory_state) (system_memory_usage_bytes${sel(C, N)})`, legend: '{{system_memory_state}}' },
        { expr: `sum(system_memory_linux_cached_bytes${sel(C, N)})`, legend: 'cached' },
        { expr: `sum(system_memory_linux_buffers_bytes${sel(C, N)})`, legend: 'buffers' },
      ],
      { unit: 'bytes' },
    ),
    timeseries('Load average', [{ expr: `sum(system_cpu_load_average_1m${sel(C, N)})`, legend: '1m' }, { expr: `sum(system_cpu_load_average_5m${sel(C, N)})`, legend: '5m' }, { expr: `sum(system_cpu_load_average_15m${sel(C, N)})`, legend: '15m' }], { unit: 'short' }),
    timeseries('Network by interface', [{ expr: `sum by (network_interface_name, network_io_direction) (rate(system_network_io_bytes_total${sel(C, N)}[${RATE}]))`, legend: '{{network_interface_name}} {{network_io_direction}}' }], { unit: 'Bps' }),
    timeseries(
      'Network drops and errors',
      [
        { expr: `sum by (network_interface_name, network_io_direction) (rate(system_network_packet_dropped_total${sel(C, N)}[${RATE}]))`, legend: 'dropped {{network_interface_name}} {{network_io_direction}}' },
        { expr: `sum by (network_interface_name, network_io_direction) (rate(system_network_errors_total${sel(C, N)}[${RATE}]))`, legend: 'errors {{network_interface_name}} {{network_io_direction}}' },
      ],
      { unit: 'pps' },
    ),
    timeseries('Disk throughput', [{ expr: `sum by (system_device, disk_io_direction) (rate(system_disk_io_bytes_total${sel(C, N)}[${RATE}]))`, legend: '{{system_device}} {{disk_io_direction}}' }], { unit: 'Bps' }),
    timeseries('File systems in use', [{ expr: `sum by (system_filesystem_mountpoint) (system_filesystem_usage_bytes${sel(C, N, 'system_filesystem_state="used"')}) / sum by (system_filesystem_mountpoint) (system_filesystem_limit_bytes${sel(C, N)})`, legend: '{{system_filesystem_mountpoint}}' }], { unit: 'percentunit', min: 0, max: 1 }),
    timeseries('CPU per pod', [{ expr: `topk(15, sum by (k8s_namespace_name, k8s_pod_name) (rate(k8s_pod_cpu_time_seconds_total${sel(C, N)}[${RATE}])))`, legend: '{{k8s_namespace_name}}/{{k8s_pod_name}}' }], { unit: 'short', description: 'CPUs used by each pod (top 15).' }),
    timeseries('Memory per pod (working set)', [{ expr: `topk(15, sum by (k8s_namespace_name, k8s_pod_name) (k8s_pod_memory_working_set_bytes${sel(C, N)}))`, legend: '{{k8s_namespace_name}}/{{k8s_pod_name}}' }], { unit: 'bytes' }),
    timeseries('TCP drops by kernel reason', [{ expr: `sum by (tcp_drop_reason) (rate(tcp_drops_total${sel(C, N)}[${RATE}]))`, legend: '{{tcp_drop_reason}}' }], { unit: 'pps' }),
    timeseries(
      'TCP retransmits and resets',
      [
        { expr: `sum(rate(tcp_retransmits_total${sel(C, N)}[${RATE}]))`, legend: 'retransmitted segments' },
        { expr: `sum(rate(tcp_resets_sent_total${sel(C, N)}[${RATE}]))`, legend: 'resets sent' },
      ],
      { unit: 'short' },
    ),
  ]);
}

function namespace(): Json {
  const NS = 'k8s_namespace_name=~"$namespace"';
  const NAMESPACE = queryVar('namespace', 'k8s_namespace_name', `k8s_pod_cpu_time_seconds_total${sel(C)}`, 'Namespace');
  const per = (metric: string, extra = '') => `sum by (k8s_namespace_name) (rate(${metric}${sel(C, extra)}[${RATE}]))`;
  return dashboard('bpfcol-namespace', 'bpfcol / Namespace', 'Every namespace with its pods, workloads, CPU, memory, network and disk throughput; then one namespace pod by pod.', [CLUSTER, NAMESPACE], [
    table(
      'Namespaces',
      [
        { expr: `sum by (k8s_namespace_name) (k8s_pod_count${sel(C)})`, refId: 'pods' },
        { expr: `count by (k8s_namespace_name) (count by (k8s_namespace_name, service_name) (k8s_pod_cpu_time_seconds_total${sel(C)}))`, refId: 'services' },
        { expr: per('k8s_pod_cpu_time_seconds_total'), refId: 'cpu' },
        { expr: `sum by (k8s_namespace_name) (k8s_pod_memory_working_set_bytes${sel(C)})`, refId: 'mem' },
        { expr: per('k8s_pod_network_io_bytes_total'), refId: 'net' },
        { expr: `${per('container_disk_io_bytes_total')} or ${per('k8s_pod_cpu_time_seconds_total')} * 0`, refId: 'disk' },
      ],
      {
        rename: { k8s_namespace_name: 'namespace', 'Value #pods': 'pods', 'Value #services': 'services', 'Value #cpu': 'CPUs used', 'Value #mem': 'memory (working set)', 'Value #net': 'network', 'Value #disk': 'disk throughput' },
        overrides: [
          { matcher: { id: 'byName', options: 'memory (working set)' }, properties: [{ id: 'unit', value: 'bytes' }] },
          { matcher: { id: 'byName', options: 'network' }, properties: [{ id: 'unit', value: 'Bps' }] },
          { matcher: { id: 'byName', options: 'disk throughput' }, properties: [{ id: 'unit', value: 'Bps' }] },
          { matcher: { id: 'byName', options: 'namespace' }, properties: [{ id: 'links', value: [{ title: 'This namespace', url: '/d/bpfcol-namespace?var-cluster=${cluster}&var-namespace=${__value.raw}&${__url_time_range}' }] }] },
        ],
        description: 'Services: distinct service.name of the pods (k8s_metadata derives it from the workload).',
      },
    ),
    row('Namespace $namespace'),
    timeseries('CPU per pod', [{ expr: `sum by (k8s_pod_name) (rate(k8s_pod_cpu_time_seconds_total${sel(C, NS)}[${RATE}]))`, legend: '{{k8s_pod_name}}' }], { unit: 'short', stack: true }),
    timeseries('Memory per pod (working set)', [{ expr: `sum by (k8s_pod_name) (k8s_pod_memory_working_set_bytes${sel(C, NS)})`, legend: '{{k8s_pod_name}}' }], { unit: 'bytes', stack: true }),
    timeseries('Network per pod', [{ expr: `sum by (k8s_pod_name, network_io_direction) (rate(k8s_pod_network_io_bytes_total${sel(C, NS)}[${RATE}]))`, legend: '{{k8s_pod_name}} {{network_io_direction}}' }], { unit: 'Bps' }),
    timeseries('Disk throughput per pod', [{ expr: `sum by (k8s_pod_name, disk_io_direction) (rate(container_disk_io_bytes_total${sel(C, NS)}[${RATE}])) or sum by (k8s_pod_name) (rate(k8s_pod_cpu_time_seconds_total${sel(C, NS)}[${RATE}])) * 0`, legend: '{{k8s_pod_name}} {{disk_io_direction}}' }], { unit: 'Bps', description: 'Bytes read and written by the containers of each pod (cgroup io.stat / blkio).' }),
    timeseries('Requests per service', [{ expr: `sum by (service_name) (rate(traces_span_metrics_calls_total${sel(C, NS, 'span_kind="SPAN_KIND_SERVER"')}[${RATE}]))`, legend: '{{service_name}}' }], { unit: 'reqps' }),
    timeseries('TCP drops and retransmits of its pods', [{ expr: `sum by (k8s_pod_name) (rate(tcp_drops_total${sel(C, NS)}[${RATE}]))`, legend: 'drops {{k8s_pod_name}}' }, { expr: `sum by (k8s_pod_name) (rate(tcp_retransmits_total${sel(C, NS)}[${RATE}]))`, legend: 'retransmits {{k8s_pod_name}}' }], { unit: 'pps' }),
  ]);
}

function pod(): Json {
  const NS = 'k8s_namespace_name=~"$namespace"';
  const P = 'k8s_pod_name=~"$pod"';
  const NAMESPACE = queryVar('namespace', 'k8s_namespace_name', `k8s_pod_cpu_time_seconds_total${sel(C)}`, 'Namespace', { all: false });
  const POD = queryVar('pod', 'k8s_pod_name', `k8s_pod_cpu_time_seconds_total${sel(C, NS)}`, 'Pod', { all: false });
  const s = (metric: string, ...extra: string[]) => `${metric}${sel(C, NS, P, ...extra)}`;
  return dashboard('bpfcol-pod', 'bpfcol / Pod', 'One pod: what it used over its whole life (the counters start with the pod), and over time.', [CLUSTER, NAMESPACE, POD, FREQ], [
    stat('CPU time, lifetime', `sum(${s('k8s_pod_cpu_time_seconds_total')})`, { unit: 's', description: 'CPU seconds since the pod started (its cgroup\'s cpu.stat).' }),
    stat('Memory, peak in range', `max(max_over_time(${s('k8s_pod_memory_working_set_bytes')}[$__range]))`, { unit: 'bytes' }),
    stat('Received, lifetime', `sum(${s('k8s_pod_network_io_bytes_total', 'network_io_direction="receive"')})`, { unit: 'bytes' }),
    stat('Sent, lifetime', `sum(${s('k8s_pod_network_io_bytes_total', 'network_io_direction="transmit"')})`, { unit: 'bytes' }),
    stat('Page faults, lifetime', `sum(${s('k8s_pod_paging_faults_total')})`, { unit: 'short' }),
    stat('TCP drops, lifetime', `sum(${s('tcp_drops_total')}) or vector(0)`, { unit: 'short' }),
    timeseries('CPU', [{ expr: `sum(rate(${s('k8s_pod_cpu_time_seconds_total')}[${RATE}]))`, legend: 'pod' }, { expr: `sum by (k8s_container_name) (rate(${s('container_cpu_time_seconds_total')}[${RATE}]))`, legend: '{{k8s_container_name}}' }], { unit: 'short', description: 'CPUs used.' }),
    timeseries(
      'Memory',
      [
        { expr: `sum(${s('k8s_pod_memory_usage_bytes')})`, legend: 'usage' },
        { expr: `sum(${s('k8s_pod_memory_working_set_bytes')})`, legend: 'working set' },
        { expr: `sum(${s('k8s_pod_memory_rss_bytes')})`, legend: 'rss' },
        { expr: `sum by (k8s_container_name) (${s('container_memory_limit_bytes')})`, legend: 'limit {{k8s_container_name}}' },
      ],
      { unit: 'bytes' },
    ),
    timeseries('Network', [{ expr: `sum by (network_io_direction) (rate(${s('k8s_pod_network_io_bytes_total')}[${RATE}]))`, legend: '{{network_io_direction}}' }], { unit: 'Bps' }),
    timeseries('CPU throttling', [{ expr: `sum by (k8s_container_name) (rate(${s('container_cpu_throttling_data_throttled_time_seconds_total')}[${RATE}])) or sum by (k8s_container_name) (rate(${s('container_cpu_time_seconds_total')}[${RATE}])) * 0`, legend: '{{k8s_container_name}}' }], { unit: 'short', description: 'Seconds per second the container waited for CPU quota.' }),
    timeseries('CPU per process', [{ expr: `sum by (process_executable_name, process_pid) (rate(${s('process_cpu_samples_total')}[${RATE}])) / $frequency`, legend: '{{process_executable_name}} ({{process_pid}})' }], { unit: 'short', description: 'From CPU samples (perf_sampling): CPUs used by each process of the pod. The CPU profiles view links to each one\'s flame graph.', links: [{ title: 'CPU profiles of this pod', url: '/d/bpfcol-cpu?var-cluster=${cluster}&var-namespace=${namespace}&var-pod=${pod}&${__url_time_range}' }] }),
    timeseries(
      'Requests in and out',
      [
        { expr: `sum by (client) (rate(traces_service_graph_request_total${sel(C, 'server_k8s_namespace_name=~"$namespace"', 'server_k8s_pod_name=~"$pod"')}[${RATE}])) or vector(0)`, legend: 'in from {{client}}' },
        { expr: `sum by (server) (rate(traces_service_graph_request_total${sel(C, 'client_k8s_namespace_name=~"$namespace"', 'client_k8s_pod_name=~"$pod"')}[${RATE}])) or vector(0)`, legend: 'out to {{server}}' },
      ],
      { unit: 'reqps' },
    ),
    text('About these numbers', 'Counters that say *lifetime* count since the pod (its cgroup) started, as the kernel counts them; rates are per second over the time range. CPU per process comes from CPU samples taken $frequency times a second on each CPU.', { h: 3 }),
  ]);
}

function services(): Json {
  const NAMESPACE = queryVar('namespace', 'k8s_namespace_name', `traces_span_metrics_calls_total${sel(C)}`, 'Namespace');
  const SERVICE = queryVar('service', 'service_name', `traces_span_metrics_calls_total${sel(C, 'k8s_namespace_name=~"$namespace"', 'span_kind="SPAN_KIND_SERVER"')}`, 'Service');
  const S = sel(C, 'k8s_namespace_name=~"$namespace"', 'service_name=~"$service"', 'span_kind="SPAN_KIND_SERVER"');
  const calls = `sum by (service_name) (rate(traces_span_metrics_calls_total${S}[${RATE}]))`;
  const errors = `(sum by (service_name) (rate(traces_span_metrics_calls_total${sel(C, 'k8s_namespace_name=~"$namespace"', 'service_name=~"$service"', 'span_kind="SPAN_KIND_SERVER"', 'status_code="STATUS_CODE_ERROR"')}[${RATE}])) or ${calls} * 0)`;
  const G = sel(C, 'client_k8s_namespace_name=~"$namespace|"', 'server_k8s_namespace_name=~"$namespace|"');
  const edgeRate = `sum by (client, server) (rate(traces_service_graph_request_total${G}[${RATE}]))`;
  const edgeFailed = `(sum by (client, server) (rate(traces_service_graph_request_failed_total${G}[${RATE}])) or ${edgeRate} * 0)`;
  const withEdgeLabels = (e: string) => `label_join(label_replace(label_replace(${e}, "source", "$1", "client", "(.*)"), "target", "$1", "server", "(.*)"), "id", " -> ", "client", "server")`;
  const nodeIds = `label_replace(sum by (server) (rate(traces_service_graph_request_total${G}[${RATE}])), "id", "$1", "server", "(.*)") or label_replace(sum by (client) (rate(traces_service_graph_request_total${G}[${RATE}])) * 0, "id", "$1", "client", "(.*)")`;
  const nodes = `label_replace(sum by (id) (${nodeIds}), "title", "$1", "id", "(.*)")`;
  return dashboard('bpfcol-services', 'bpfcol / Service traffic', 'Requests between services: the service graph (client -> server edges from paired spans), rate, errors and latency per service (spans from socket_trace, which reads HTTP, PostgreSQL, MySQL and Redis off the sockets, and from the apps\' SDKs).', [CLUSTER, NAMESPACE, SERVICE], [
    nodeGraph('Service graph', nodes, withEdgeLabels(edgeRate), {
      nodeUnit: 'reqps',
      edgeUnit: 'reqps',
      description: 'Each edge is a client -> server pair with its requests per second; each node a service with the requests per second it receives (servicegraph connector: traces_service_graph_request_total). The Edges table below has errors, latency and bytes per edge.',
    }),
    timeseries('Request rate', [{ expr: calls, legend: '{{service_name}}' }], { unit: 'reqps', w: 8 }),
    timeseries('Error ratio', [{ expr: `${errors} / ${calls}`, legend: '{{service_name}}' }], { unit: 'percentunit', min: 0, max: 1, w: 8 }),
    timeseries(
      'Latency (server spans)',
      [
        { expr: `histogram_quantile(0.5, sum by (le, service_name) (rate(traces_span_metrics_duration_seconds_bucket${S}[${RATE}])))`, legend: 'p50 {{service_name}}' },
        { expr: `histogram_quantile(0.95, sum by (le, service_name) (rate(traces_span_metrics_duration_seconds_bucket${S}[${RATE}])))`, legend: 'p95 {{service_name}}' },
        { expr: `histogram_quantile(0.99, sum by (le, service_name) (rate(traces_span_metrics_duration_seconds_bucket${S}[${RATE}])))`, legend: 'p99 {{service_name}}' },
      ],
      { unit: 's', w: 8 },
    ),
    timeseries(
      'HTTP responses by status (kernel)',
      [{ expr: `sum by (service_name, http_response_status_code) (rate(http_server_request_duration_seconds_count${sel(C, 'k8s_namespace_name=~"$namespace"', 'service_name=~"$service"')}[${RATE}]))`, legend: '{{service_name}} {{http_response_status_code}}' }],
      { unit: 'reqps', description: 'HTTP/1.x requests the services answered, as socket_trace read them from their sockets (no SDK needed), by status code.' },
    ),
    timeseries(
      'HTTP server latency (kernel)',
      [
        { expr: `histogram_quantile(0.5, sum by (le, service_name) (rate(http_server_request_duration_seconds_bucket${sel(C, 'k8s_namespace_name=~"$namespace"', 'service_name=~"$service"')}[${RATE}])))`, legend: 'p50 {{service_name}}' },
        { expr: `histogram_quantile(0.95, sum by (le, service_name) (rate(http_server_request_duration_seconds_bucket${sel(C, 'k8s_namespace_name=~"$namespace"', 'service_name=~"$service"')}[${RATE}])))`, legend: 'p95 {{service_name}}' },
      ],
      { unit: 's', description: 'From the first request byte read to the last response byte written (socket_trace: http.server.request.duration).' },
    ),
    table(
      'Edges',
      [
        { expr: edgeRate, refId: 'rate' },
        { expr: `${edgeFailed} / ${edgeRate}`, refId: 'errors' },
        { expr: `histogram_quantile(0.95, sum by (le, client, server) (rate(traces_service_graph_request_server_seconds_bucket${G}[${RATE}])))`, refId: 'p95' },
        { expr: `sum by (client, server) (rate(traces_service_graph_request_bytes_total${G}[${RATE}])) + sum by (client, server) (rate(traces_service_graph_response_bytes_total${G}[${RATE}])) or ${edgeRate} * 0`, refId: 'bytes' },
      ],
      {
        rename: { 'Value #rate': 'requests/s', 'Value #errors': 'error ratio', 'Value #p95': 'p95 (server)', 'Value #bytes': 'bytes/s' },
        overrides: [
          { matcher: { id: 'byName', options: 'error ratio' }, properties: [{ id: 'unit', value: 'percentunit' }] },
          { matcher: { id: 'byName', options: 'p95 (server)' }, properties: [{ id: 'unit', value: 's' }] },
          { matcher: { id: 'byName', options: 'bytes/s' }, properties: [{ id: 'unit', value: 'Bps' }] },
          { matcher: { id: 'byName', options: 'requests/s' }, properties: [{ id: 'unit', value: 'reqps' }] },
        ],
      },
    ),
    table(
      'Operations',
      [
        { expr: `sum by (service_name, span_name) (rate(traces_span_metrics_calls_total${S}[${RATE}]))`, refId: 'rate' },
        { expr: `histogram_quantile(0.95, sum by (le, service_name, span_name) (rate(traces_span_metrics_duration_seconds_bucket${S}[${RATE}])))`, refId: 'p95' },
      ],
      { rename: { service_name: 'service', span_name: 'operation', 'Value #rate': 'requests/s', 'Value #p95': 'p95' }, overrides: [{ matcher: { id: 'byName', options: 'p95' }, properties: [{ id: 'unit', value: 's' }] }] },
    ),
  ]);
}

function tcp(): Json {
  const NAMESPACE = queryVar('namespace', 'server_k8s_namespace_name', `tcp_service_graph_connections_total${sel(C)}`, 'Namespace (server side)');
  const G = sel(C, 'server_k8s_namespace_name=~"$namespace"');
  const pairs = 'client_k8s_namespace_name, client_k8s_pod_name, client, server_k8s_namespace_name, server_k8s_pod_name, server';
  const drops = `sum by (${pairs}) (rate(tcp_service_graph_drops_total${G}[${RATE}]))`;
  const retrans = `sum by (${pairs}) (rate(tcp_service_graph_retransmits_total${G}[${RATE}]))`;
  const conns = `sum by (${pairs}) (rate(tcp_service_graph_connections_total${sel(C, 'server_k8s_namespace_name=~"$namespace"', 'reporter="client"')}[${RATE}]))`;
  // A pair's drops or retransmits, 0 where it had none: every connected pair is an edge.
  const zeroed = (e: string) => `(${e} or ${conns} * 0)`;
  // Endpoints named by pod where there is one, else by the servicegraph's name for them.
  const ends = (e: string) =>
    `label_join(label_replace(label_replace(label_replace(label_replace(${e}, "source", "$1", "client", "(.*)"), "source", "$1", "client_k8s_pod_name", "(.+)"), "target", "$1", "server", "(.*)"), "target", "$1", "server_k8s_pod_name", "(.+)"), "id", " -> ", "source", "target")`;
  const edgeDrops = `sum by (id, source, target) (${ends(zeroed(drops))})`;
  const edgeRetrans = `sum by (id, source, target) (${ends(zeroed(retrans))})`;
  const nodes = (e: string) =>
    `label_replace(sum by (id) (label_replace(sum by (target) (${ends(zeroed(e))}), "id", "$1", "target", "(.*)") or label_replace(sum by (source) (${ends(zeroed(e))}) * 0, "id", "$1", "source", "(.*)")), "title", "$1", "id", "(.*)")`;
  return dashboard('bpfcol-tcp', 'bpfcol / TCP drops between pods', 'Where TCP goes wrong between pods: packets the kernel dropped (with its reason) and segments retransmitted, per client -> server pod pair (tcp_drop -> k8s_metadata -> servicegraph).', [CLUSTER, NAMESPACE], [
    nodeGraph('TCP drops map', nodes(drops), edgeDrops, {
      nodeUnit: 'pps',
      edgeUnit: 'pps',
      w: 12,
      description: 'Pods (or, outside pods, the processes and addresses) as nodes; an edge per client -> server pair with the packets the kernel dropped per second on it (both ends added). A node shows the drops on the connections it serves.',
    }),
    nodeGraph('TCP retransmits map', nodes(retrans), edgeRetrans, {
      nodeUnit: 'short',
      edgeUnit: 'short',
      w: 12,
      description: 'The same pairs with the segments retransmitted per second on each.',
    }),
    table(
      'Pod pairs',
      [
        { expr: zeroed(drops), refId: 'drops' },
        { expr: zeroed(retrans), refId: 'retrans' },
        { expr: conns, refId: 'conns' },
        { expr: `(sum by (${pairs}) (rate(tcp_service_graph_connections_failed_total${G}[${RATE}])) or ${conns} * 0)`, refId: 'failed' },
        { expr: `(histogram_quantile(0.95, sum by (le, ${pairs}) (rate(tcp_service_graph_rtt_seconds_bucket${G}[${RATE}]))) or ${conns} * 0)`, refId: 'rtt' },
      ],
      {
        rename: {
          client_k8s_namespace_name: 'client namespace',
          client_k8s_pod_name: 'client pod',
          server_k8s_namespace_name: 'server namespace',
          server_k8s_pod_name: 'server pod',
          'Value #drops': 'drops/s',
          'Value #retrans': 'retransmits/s',
          'Value #conns': 'connections/s',
          'Value #failed': 'failed connections/s',
          'Value #rtt': 'RTT p95',
        },
        overrides: [{ matcher: { id: 'byName', options: 'RTT p95' }, properties: [{ id: 'unit', value: 's' }] }],
      },
    ),
    timeseries('Drops by kernel reason', [{ expr: `sum by (tcp_drop_reason) (rate(tcp_service_graph_drops_total${G}[${RATE}]))`, legend: '{{tcp_drop_reason}}' }], { unit: 'pps' }),
    timeseries('Retransmits per pod pair', [{ expr: zeroed(retrans), legend: '{{client_k8s_pod_name}} -> {{server_k8s_pod_name}}' }], { unit: 'short' }),
    timeseries('Drops per pod pair', [{ expr: zeroed(drops), legend: '{{client_k8s_pod_name}} -> {{server_k8s_pod_name}}' }], { unit: 'pps' }),
    timeseries('Bytes per pod pair (request + response)', [{ expr: `sum by (client_k8s_pod_name, server_k8s_pod_name) (rate(tcp_service_graph_request_bytes_total${sel(C, 'server_k8s_namespace_name=~"$namespace"', 'reporter="client"')}[${RATE}])) + sum by (client_k8s_pod_name, server_k8s_pod_name) (rate(tcp_service_graph_response_bytes_total${sel(C, 'server_k8s_namespace_name=~"$namespace"', 'reporter="client"')}[${RATE}]))`, legend: '{{client_k8s_pod_name}} -> {{server_k8s_pod_name}}' }], { unit: 'Bps', description: 'As the client sockets counted them, over connections that closed.' }),
  ]);
}

function jvm(): Json {
  const NAMESPACE = queryVar('namespace', 'k8s_namespace_name', `jvm_memory_used_bytes${sel(C)}`, 'Namespace');
  const POD = queryVar('pod', 'k8s_pod_name', `jvm_memory_used_bytes${sel(C, 'k8s_namespace_name=~"$namespace"')}`, 'Pod');
  const J = (...extra: string[]) => sel(C, 'k8s_namespace_name=~"$namespace"', 'k8s_pod_name=~"$pod"', ...extra);
  const who = 'k8s_pod_name, process_pid';
  return dashboard('bpfcol-jvm', 'bpfcol / JVM', 'Memory pools, garbage collection, threads and classes of the JVMs in pods, from HotSpot\'s USDT probes and hsperfdata (jvm_usdt), no agent in the JVM.', [CLUSTER, NAMESPACE, POD], [
    timeseries('Heap used by pool', [{ expr: `sum by (${who}, jvm_memory_pool_name) (jvm_memory_used_bytes${J('jvm_memory_type="heap"')})`, legend: '{{k8s_pod_name}} ({{process_pid}}) {{jvm_memory_pool_name}}' }], { unit: 'bytes', stack: true }),
    timeseries(
      'Heap: used, committed, limit',
      [
        { expr: `sum by (${who}) (jvm_memory_used_bytes${J('jvm_memory_type="heap"')})`, legend: 'used {{k8s_pod_name}} ({{process_pid}})' },
        { expr: `sum by (${who}) (jvm_memory_committed_bytes${J('jvm_memory_type="heap"')})`, legend: 'committed {{k8s_pod_name}} ({{process_pid}})' },
        { expr: `sum by (${who}) (jvm_memory_limit_bytes${J('jvm_memory_type="heap"')})`, legend: 'limit {{k8s_pod_name}} ({{process_pid}})' },
      ],
      { unit: 'bytes' },
    ),
    timeseries('Non-heap used by pool', [{ expr: `sum by (${who}, jvm_memory_pool_name) (jvm_memory_used_bytes${J('jvm_memory_type="non_heap"')})`, legend: '{{k8s_pod_name}} ({{process_pid}}) {{jvm_memory_pool_name}}' }], { unit: 'bytes', stack: true }),
    timeseries('Heap after the last collection', [{ expr: `sum by (${who}, jvm_memory_pool_name) (jvm_memory_used_after_last_gc_bytes${J()})`, legend: '{{k8s_pod_name}} ({{process_pid}}) {{jvm_memory_pool_name}}' }], { unit: 'bytes', description: 'What each heap pool held right after its latest collection: a rising floor is a leak.' }),
    timeseries('Collections per second', [{ expr: `sum by (${who}, jvm_gc_name) (rate(jvm_gc_duration_seconds_count${J()}[${RATE}]))`, legend: '{{k8s_pod_name}} ({{process_pid}}) {{jvm_gc_name}}' }], { unit: 'short' }),
    timeseries('Time in GC pauses', [{ expr: `sum by (${who}, jvm_gc_name) (rate(jvm_gc_duration_seconds_sum${J()}[${RATE}]))`, legend: '{{k8s_pod_name}} ({{process_pid}}) {{jvm_gc_name}}' }], { unit: 'percentunit', description: 'Share of wall time spent in collections.' }),
    timeseries('Average pause', [{ expr: `sum by (${who}, jvm_gc_name) (rate(jvm_gc_duration_seconds_sum${J()}[${RATE}])) / sum by (${who}, jvm_gc_name) (rate(jvm_gc_duration_seconds_count${J()}[${RATE}]))`, legend: '{{k8s_pod_name}} ({{process_pid}}) {{jvm_gc_name}}' }], { unit: 's' }),
    timeseries('Safepoints', [{ expr: `sum by (${who}) (rate(jvm_safepoint_duration_seconds_sum${J()}[${RATE}]))`, legend: '{{k8s_pod_name}} ({{process_pid}})' }], { unit: 'percentunit', description: 'Share of wall time with every Java thread stopped at a safepoint.' }),
    timeseries('Threads', [{ expr: `sum by (${who}, jvm_thread_daemon) (jvm_thread_count${J()})`, legend: '{{k8s_pod_name}} ({{process_pid}}) daemon={{jvm_thread_daemon}}' }], { unit: 'short' }),
    timeseries('Classes loaded', [{ expr: `sum by (${who}) (jvm_class_count${J()})`, legend: '{{k8s_pod_name}} ({{process_pid}})' }], { unit: 'short' }),
  ]);
}

function cpu(): Json {
  const NODE = queryVar('node', 'k8s_node_name', `process_cpu_samples_total${sel(C)}`, 'Node');
  const NAMESPACE = queryVar('namespace', 'k8s_namespace_name', `process_cpu_samples_total${sel(C, 'k8s_node_name=~"$node"')}`, 'Namespace');
  const POD = queryVar('pod', 'k8s_pod_name', `process_cpu_samples_total${sel(C, 'k8s_node_name=~"$node"', 'k8s_namespace_name=~"$namespace"')}`, 'Pod');
  const PORT = constVar('pprof_port', '6060', 'pprof port', "The pprof exporter's port on each agent (config/kubernetes: 6060).");
  const P = sel(C, 'k8s_node_name=~"$node"', 'k8s_namespace_name=~"$namespace"', 'k8s_pod_name=~"$pod"');
  const who = 'k8s_node_name, k8s_namespace_name, k8s_pod_name, process_executable_name, process_pid, instance';
  // The agent that sampled the process serves its profile: its address is the scrape target's.
  const pprof = (e: string) => `label_replace(${e}, "pprof", "http://$1:$pprof_port", "instance", "([^:]+):.*")`;
  const perProcess = `sum by (${who}) (rate(process_cpu_samples_total${P}[${RATE}])) / $frequency`;
  const flame = '${__data.fields.pprof}/debug/pprof/profile?pid=${__data.fields.process_pid}';
  return dashboard('bpfcol-cpu', 'bpfcol / CPU by process and flame graphs', 'CPU use of every process from stack samples (perf_sampling), with a link to each process\'s latest CPU profile (pprof exporter) for its flame graph.', [CLUSTER, NODE, NAMESPACE, POD, FREQ, PORT], [
    table('Processes by CPU', [{ expr: pprof(`topk(50, ${perProcess})`), refId: 'cpu' }], {
      rename: { k8s_node_name: 'node', k8s_namespace_name: 'namespace', k8s_pod_name: 'pod', process_executable_name: 'process', process_pid: 'pid', 'Value #cpu': 'CPUs' },
      hide: ['instance'],
      h: 10,
      overrides: [
        { matcher: { id: 'byName', options: 'pprof' }, properties: [{ id: 'displayName', value: 'flame graph' }, { id: 'links', value: [{ title: 'Latest CPU profile (open with: go tool pprof -http=: <link>)', url: flame, targetBlank: true }] }] },
        { matcher: { id: 'byName', options: 'CPUs' }, properties: [{ id: 'custom.cellOptions', value: { type: 'gauge', mode: 'basic' } }] },
      ],
      description: 'CPUs used by each process over the range (samples / frequency). The flame graph link is the process\'s latest window as a pprof profile from the agent on its node.',
    }),
    timeseries('CPU per process', [{ expr: pprof(`topk(15, ${perProcess})`), legend: '{{k8s_pod_name}} {{process_executable_name}} ({{process_pid}})' }], {
      unit: 'short',
      w: 24,
      links: [
        { title: 'Latest CPU profile of ${__field.labels.process_executable_name} (${__field.labels.process_pid})', url: '${__field.labels.pprof}/debug/pprof/profile?pid=${__field.labels.process_pid}' },
        { title: 'Profiles on this agent (index)', url: '${__field.labels.pprof}/profiles' },
      ],
    }),
    timeseries('User vs kernel', [{ expr: `sum by (cpu_mode) (rate(process_cpu_samples_total${P}[${RATE}])) / $frequency`, legend: '{{cpu_mode}}' }], { unit: 'short', stack: true }),
    timeseries('CPU per pod', [{ expr: `topk(15, sum by (k8s_namespace_name, k8s_pod_name) (rate(process_cpu_samples_total${sel(C, 'k8s_node_name=~"$node"', 'k8s_namespace_name=~"$namespace"', 'k8s_pod_name=~"$pod"', 'k8s_pod_name!=""')}[${RATE}])) / $frequency)`, legend: '{{k8s_namespace_name}}/{{k8s_pod_name}}' }], { unit: 'short' }),
    text(
      'Flame graphs',
      [
        'Each agent keeps the latest 30 s CPU profile of every process on its node and serves it at `http://<agent pod IP>:6060/debug/pprof/profile?pid=<pid>`',
        '(all processes: without `?pid`; an index: `/profiles`). The **flame graph** links above point there: `go tool pprof -http=: <link>` opens it as a flame graph.',
        'SVG flame graphs of every window (Kubernetes, process, user and kernel frames in the seed\'s colours) are written under `/var/lib/bpfcol/flamegraphs` in the agent:',
        '`kubectl cp -n bpfcol <agent pod>:/var/lib/bpfcol/flamegraphs ./flamegraphs`.',
      ].join(' '),
      { h: 4 },
    ),
  ]);
}

export const DASHBOARDS: Record<string, () => Json> = {
  'cluster.json': cluster,
  'node.json': node,
  'namespace.json': namespace,
  'pod.json': pod,
  'services.json': services,
  'tcp-drops.json': tcp,
  'jvm.json': jvm,
  'cpu-profiles.json': cpu,
};

export const DASHBOARD_DIR = join(dirname(fileURLToPath(import.meta.url)), 'dashboards');

/** Each dashboard's JSON as written to its file. */
export function renderDashboards(): Map<string, string> {
  return new Map(Object.entries(DASHBOARDS).map(([file, make]) => [file, JSON.stringify(make(), null, 2) + '\n']));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(DASHBOARD_DIR, { recursive: true });
  for (const [file, text] of renderDashboards()) writeFileSync(join(DASHBOARD_DIR, file), text);
  process.stdout.write(`wrote ${DASHBOARDS ? Object.keys(DASHBOARDS).length : 0} dashboards to ${DASHBOARD_DIR}\n`);
}
