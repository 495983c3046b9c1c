/** Anomaly detection on flows: online baselines per service and per masked source, anomalies as evidence and a metric. */
export { AnomalyDetector, ANOMALY_KINDS, type Anomaly, type AnomalyKind } from "./detector.ts";
export { attempt, type Attempt, type DetectFlow } from "./flow.ts";
export { DEFAULT_DETECT, detectOptionsFrom, type DetectOptions } from "./options.ts";
export { anomalyRecord, ANOMALY_RECORD_KIND } from "./record.ts";
export { anomalyCounter } from "./metric.ts";
