{{/*
Shared helpers. Per-component helpers take a dict: root (the top context), name (the key in
.Values.components) and c (its values), because Helm templates get a single argument.
*/}}

{{- define "ferrule.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ferrule.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of every object of one component: "<fullname>-<component>". */}}
{{- define "ferrule.componentName" -}}
{{- printf "%s-%s" (include "ferrule.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels must never change after install (selectors are immutable), so they hold
only what identifies the component, not versions. */}}
{{- define "ferrule.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "ferrule.labels" -}}
{{ include "ferrule.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: ferrule
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "ferrule.chart" .root }}
{{- end -}}

{{- define "ferrule.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "ferrule.metricsPort" -}}
{{- .c.metricsPort | default .root.Values.metricsPort -}}
{{- end -}}

{{/* Fails the render early with a message naming the component, rather than letting the API
server reject a half-applied release. */}}
{{- define "ferrule.validate" -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .name) -}}
{{- fail (printf "components.%s: key must be a DNS label (lowercase letters, digits, '-')" .name) -}}
{{- end -}}
{{- if not (has .c.kind (list "Deployment" "DaemonSet")) -}}
{{- fail (printf "components.%s.kind must be Deployment or DaemonSet, got %v" .name .c.kind) -}}
{{- end -}}
{{- if not .c.binary -}}
{{- fail (printf "components.%s.binary is required" .name) -}}
{{- end -}}
{{- if not (has .root.Values.logFormat (list "text" "json")) -}}
{{- fail (printf "logFormat must be text or json, got %v" .root.Values.logFormat) -}}
{{- end -}}
{{- end -}}

{{/* Rules of the component's Role in the release namespace, as a YAML list (possibly empty).
Leader election needs Leases there; `create` cannot be limited by resourceNames, so the lease
rules are namespace-wide but stay inside the release namespace. */}}
{{- define "ferrule.namespaceRules" -}}
{{- $rules := list -}}
{{- if .c.leaderElection -}}
{{- $rules = append $rules (dict "apiGroups" (list "coordination.k8s.io") "resources" (list "leases") "verbs" (list "get" "create" "update" "patch")) -}}
{{- end -}}
{{- $extra := (.c.rbac | default dict).namespaceRules | default list -}}
{{- toYaml (concat $rules $extra) -}}
{{- end -}}

{{- define "ferrule.clusterRules" -}}
{{- toYaml ((.c.rbac | default dict).clusterRules | default list) -}}
{{- end -}}

{{/* Hardened default for controllers. Components that need privileges (a datapath DaemonSet)
set their own securityContext, which replaces this one whole so nothing is granted silently. */}}
{{- define "ferrule.defaultSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ferrule.podTemplate" -}}
{{- $port := include "ferrule.metricsPort" . | int -}}
metadata:
  labels:
    {{- include "ferrule.labels" . | nindent 4 }}
  annotations:
    prometheus.io/scrape: "true"
    prometheus.io/port: {{ $port | quote }}
    prometheus.io/path: /metrics
spec:
  serviceAccountName: {{ include "ferrule.componentName" . }}
  {{- with .root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if .c.hostNetwork }}
  hostNetwork: true
  {{- /* Without this a hostNetwork pod resolves with the node's resolv.conf and cannot
  reach in-cluster Services by name. */}}
  dnsPolicy: ClusterFirstWithHostNet
  {{- end }}
  {{- with .c.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  nodeSelector:
    {{- toYaml (merge (dict) (.c.nodeSelector | default dict) (dict "kubernetes.io/os" "linux")) | nindent 4 }}
  {{- with .c.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .name }}
      image: {{ include "ferrule.image" .root }}
      imagePullPolicy: {{ .root.Values.image.pullPolicy }}
      command: [{{ .c.binary | quote }}]
      args:
        - --metrics-addr=0.0.0.0:{{ $port }}
        - --log-format={{ .root.Values.logFormat }}
        {{- if .c.leaderElection }}
        - --leader-elect
        {{- end }}
        {{- range .c.args }}
        - {{ . | quote }}
        {{- end }}
      {{- /* Leader election identity/namespace, per-node work and Events all need to know
      where the process runs; the downward API is the only source that cannot drift. */}}
      env:
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
      ports:
        - name: metrics
          containerPort: {{ $port }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: metrics
        periodSeconds: 10
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /readyz
          port: metrics
        periodSeconds: 5
      {{- with .c.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- if .c.securityContext }}
        {{- toYaml .c.securityContext | nindent 8 }}
        {{- else }}
        {{- include "ferrule.defaultSecurityContext" . | nindent 8 }}
        {{- end }}
      {{- with .c.volumeMounts }}
      volumeMounts:
        {{- toYaml . | nindent 8 }}
      {{- end }}
  {{- with .c.volumes }}
  volumes:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
