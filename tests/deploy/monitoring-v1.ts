// prometheus-operator's monitoring.coreos.com/v1 kinds used by deploy/kubernetes, as
// TypeScript types: a structural schema of our own (kubernetes-models has no CRDs). Field
// names and types follow the operator's API reference (ServiceMonitor, PodMonitor,
// PrometheusRule); only the fields this project uses or is likely to use are declared, so an
// unknown (misspelt or misplaced) field fails `tsc --noEmit`. Patterns the types cannot say
// (durations, rule shape) are checked at run time by validate-k8s.mjs.
import type { IObjectMeta } from "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta";
import type { ILabelSelector } from "@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector";

// "30s", "1m30s": the operator's Duration pattern (checked at run time).
export type Duration = string;

export type RelabelAction =
  | "replace" | "Replace" | "keep" | "Keep" | "drop" | "Drop" | "hashmod" | "HashMod"
  | "labelmap" | "LabelMap" | "labeldrop" | "LabelDrop" | "labelkeep" | "LabelKeep"
  | "lowercase" | "Lowercase" | "uppercase" | "Uppercase" | "keepequal" | "KeepEqual"
  | "dropequal" | "DropEqual";

export interface RelabelConfig {
  sourceLabels?: string[];
  separator?: string;
  targetLabel?: string;
  regex?: string;
  modulus?: number;
  replacement?: string;
  action?: RelabelAction;
}

export interface NamespaceSelector {
  any?: boolean;
  matchNames?: string[];
}

interface CommonEndpoint {
  path?: string;
  scheme?: "http" | "https";
  params?: Record<string, string[]>;
  interval?: Duration;
  scrapeTimeout?: Duration;
  honorLabels?: boolean;
  honorTimestamps?: boolean;
  trackTimestampsStaleness?: boolean;
  enableHttp2?: boolean;
  followRedirects?: boolean;
  filterRunning?: boolean;
  relabelings?: RelabelConfig[];
  metricRelabelings?: RelabelConfig[];
}

export interface Endpoint extends CommonEndpoint {
  port?: string;
  targetPort?: string | number;
  bearerTokenFile?: string;
}

export interface PodMetricsEndpoint extends CommonEndpoint {
  port?: string;
  portNumber?: number;
}

interface CommonMonitorSpec {
  jobLabel?: string;
  podTargetLabels?: string[];
  selector: ILabelSelector;
  namespaceSelector?: NamespaceSelector;
  sampleLimit?: number;
  targetLimit?: number;
  labelLimit?: number;
  labelNameLengthLimit?: number;
  labelValueLengthLimit?: number;
  keepDroppedTargets?: number;
  attachMetadata?: { node?: boolean };
  scrapeProtocols?: string[];
  scrapeClass?: string;
}

export interface ServiceMonitorSpec extends CommonMonitorSpec {
  targetLabels?: string[];
  endpoints: Endpoint[];
}

export interface PodMonitorSpec extends CommonMonitorSpec {
  podMetricsEndpoints: PodMetricsEndpoint[];
}

export interface Rule {
  record?: string;
  alert?: string;
  expr: string | number;
  for?: Duration;
  keep_firing_for?: Duration;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  interval?: Duration;
  limit?: number;
  partial_response_strategy?: string;
  query_offset?: Duration;
  labels?: Record<string, string>;
  rules: Rule[];
}

export interface IServiceMonitor {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "ServiceMonitor";
  metadata: IObjectMeta;
  spec: ServiceMonitorSpec;
}

export interface IPodMonitor {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "PodMonitor";
  metadata: IObjectMeta;
  spec: PodMonitorSpec;
}

export interface IPrometheusRule {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "PrometheusRule";
  metadata: IObjectMeta;
  spec: { groups?: RuleGroup[] };
}
