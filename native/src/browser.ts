// The engine's browser-safe face: the pure modules the webview may import (report and plan types, the feature
// vocabulary, unit formatting, export formats). Nothing here may reach Node built-ins; ESLint holds the webview to it.

export type { AnalysisReport, InstanceVerdict, RequiredFeature, Vendor } from './report';
export { describeProvenance } from './report';
export type { InstanceMigrationEstimate, MigrationEstimate } from './plan/types';
export { formatDuration, formatRate } from './units';
export { FEATURES, featureLabel, type Feature } from './features/vocabulary';
export { EXPORT_FORMATS, EXPORT_FORMAT_TITLES, formatExport, isExportFormat, type ExportFormat } from './export/formats';
