import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prometheusLabelName, prometheusMetricName, sanitizeNamespace, type MetricShape } from './names.ts';

const cases: [MetricShape, string][] = [
  // units
  [{ name: 'http.server.request.duration', unit: 's', type: 'histogram' }, 'http_server_request_duration_seconds'],
  [{ name: 'db.client.operation.duration', unit: 'ms', type: 'histogram' }, 'db_client_operation_duration_milliseconds'],
  [{ name: 'process.memory.usage', unit: 'By', type: 'gauge' }, 'process_memory_usage_bytes'],
  [{ name: 'network.io', unit: 'By', type: 'sum', isMonotonic: true }, 'network_io_bytes_total'],
  [{ name: 'system.cpu.utilization', unit: '1', type: 'gauge' }, 'system_cpu_utilization_ratio'],
  [{ name: 'queue.fill', unit: '1', type: 'sum', isMonotonic: false }, 'queue_fill'],
  [{ name: 'errors', unit: '1', type: 'sum', isMonotonic: true }, 'errors_total'],
  [{ name: 'disk.io.rate', unit: 'By/s', type: 'gauge' }, 'disk_io_rate_bytes_per_second'],
  [{ name: 'temp', unit: 'Cel', type: 'gauge' }, 'temp_celsius'],
  [{ name: 'memory.share', unit: '%', type: 'gauge' }, 'memory_share_percent'],
  [{ name: 'odd.unit', unit: 'widgets', type: 'gauge' }, 'odd_unit_widgets'],
  [{ name: 'odd.rate', unit: 'widgets/min', type: 'gauge' }, 'odd_rate_widgets_per_min'],
  [{ name: 'frames', unit: '{frame}/s', type: 'gauge' }, 'frames_per_second'],
  // annotations add nothing; _total for counters only
  [{ name: 'bpfcol.test.requests', unit: '{requests}', type: 'sum', isMonotonic: true }, 'bpfcol_test_requests_total'],
  [{ name: 'http.server.active_requests', unit: '{request}', type: 'sum', isMonotonic: false }, 'http_server_active_requests'],
  // the unit is not repeated, total not doubled
  [{ name: 'request.seconds', unit: 's', type: 'gauge' }, 'request_seconds'],
  [{ name: 'requests.total', unit: '', type: 'sum', isMonotonic: true }, 'requests_total'],
  [{ name: 'total.requests', unit: '', type: 'sum', isMonotonic: true }, 'requests_total'],
  // invalid characters and runs of them become one `_`; a leading digit gets `_`
  [{ name: 'my-metric..name/x', unit: '', type: 'gauge' }, 'my_metric_name_x'],
  [{ name: '2xx.responses', unit: '', type: 'gauge' }, '_2xx_responses'],
  [{ name: 'a:b', unit: '', type: 'gauge' }, 'a_b'],
];

test('metric names follow the OpenTelemetry to Prometheus translation', () => {
  for (const [shape, expected] of cases) {
    assert.equal(prometheusMetricName(shape, ''), expected, `${shape.name} (${shape.unit})`);
  }
});

test('the namespace leads the name', () => {
  assert.equal(prometheusMetricName({ name: 'x.y', unit: 's', type: 'gauge' }, 'bpfcol'), 'bpfcol_x_y_seconds');
  assert.equal(prometheusMetricName({ name: '2x', unit: '', type: 'gauge' }, sanitizeNamespace('my-ns')), 'my_ns_2x');
});

test('label names: invalid characters become _, leading digits and single _ get key', () => {
  assert.equal(prometheusLabelName('http.request.method'), 'http_request_method');
  assert.equal(prometheusLabelName('k8s.pod.name'), 'k8s_pod_name');
  assert.equal(prometheusLabelName('0day'), 'key_0day');
  assert.equal(prometheusLabelName('_private'), 'key_private');
  assert.equal(prometheusLabelName('__reserved'), '__reserved');
  assert.equal(prometheusLabelName('a-b c'), 'a_b_c');
});
