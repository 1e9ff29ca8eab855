{{/*
Names. These follow Bitnami's chart exactly, because kubeseal finds the controller by the Service's name
(--controller-name) and a Deployment's selector can never change after install:
  name     = nameOverride, else the chart name ("sealed-secrets")
  fullname = fullnameOverride, else the release name when it already contains `name`, else "<release>-<name>"
each cut to 63 characters with no trailing "-".
*/}}
{{- define "sealed-secrets.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sealed-secrets.fullname" -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- $full := "" -}}
{{- if .Values.fullnameOverride -}}
{{- $full = .Values.fullnameOverride -}}
{{- else if contains $name .Release.Name -}}
{{- $full = .Release.Name -}}
{{- else -}}
{{- $full = printf "%s-%s" .Release.Name $name -}}
{{- end -}}
{{- $full | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The namespace of the namespaced objects: the `namespace` value, else the release's. */}}
{{- define "sealed-secrets.namespace" -}}
{{- default .Release.Namespace .Values.namespace -}}
{{- end -}}

{{/* helm.sh/chart: "<chart>-<version>", "+" replaced (not allowed in label values). */}}
{{- define "sealed-secrets.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The ServiceAccount the controller runs as. */}}
{{- define "sealed-secrets.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sealed-secrets.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The selector of the Deployment, Services, NetworkPolicy and PodDisruptionBudget (as Bitnami's: two labels). */}}
{{- define "sealed-secrets.matchLabels" -}}
app.kubernetes.io/name: {{ include "sealed-secrets.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{/* The labels every object carries (the same keys as Bitnami's chart). */}}
{{- define "sealed-secrets.labels" -}}
{{ include "sealed-secrets.matchLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sealed-secrets
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ include "sealed-secrets.chart" . }}
{{- end -}}

{{/*
A value that may hold template expressions (as Bitnami's chart allows for labels, annotations, command, args,
probes, RBAC subjects, extraDeploy...): a string is rendered with `tpl`, anything else as its YAML.
  include "sealed-secrets.tplvalue" (dict "value" .Values.x "context" $)
*/}}
{{- define "sealed-secrets.tplvalue" -}}
{{- if typeIs "string" .value -}}
{{- tpl .value .context -}}
{{- else -}}
{{- tpl (toYaml .value) .context -}}
{{- end -}}
{{- end -}}

{{/*
metadata.labels of an object: the standard labels, then each map of `extra` (e.g. rbac.labels), then commonLabels;
later ones win. Rendered as sorted YAML.
  include "sealed-secrets.metaLabels" (dict "context" $ "extra" (list .Values.rbac.labels))
*/}}
{{- define "sealed-secrets.metaLabels" -}}
{{- $ctx := .context -}}
{{- $labels := include "sealed-secrets.labels" $ctx | fromYaml -}}
{{- range append (default (list) .extra) $ctx.Values.commonLabels -}}
{{- if . -}}
{{- $labels = mergeOverwrite $labels (include "sealed-secrets.tplvalue" (dict "value" . "context" $ctx) | fromYaml) -}}
{{- end -}}
{{- end -}}
{{- toYaml $labels -}}
{{- end -}}

{{/*
metadata.annotations of an object: each map of `extra`, then commonAnnotations; empty when there are none.
  include "sealed-secrets.metaAnnotations" (dict "context" $ "extra" (list .Values.service.annotations))
*/}}
{{- define "sealed-secrets.metaAnnotations" -}}
{{- $ctx := .context -}}
{{- $annotations := dict -}}
{{- range append (default (list) .extra) $ctx.Values.commonAnnotations -}}
{{- if . -}}
{{- $annotations = mergeOverwrite $annotations (include "sealed-secrets.tplvalue" (dict "value" . "context" $ctx) | fromYaml) -}}
{{- end -}}
{{- end -}}
{{- if $annotations -}}
{{- toYaml $annotations -}}
{{- end -}}
{{- end -}}

{{/*
The metadata block of an object: name, namespace (unless cluster-scoped), labels, annotations.
  include "sealed-secrets.metadata" (dict "context" $ "name" "x" "namespace" "ns" "labels" (list ...) "annotations" (list ...))
"namespace" absent: the chart's namespace; "cluster": none.
*/}}
{{- define "sealed-secrets.metadata" -}}
{{- $ctx := .context -}}
name: {{ .name }}
{{- if ne (toString .namespace) "cluster" }}
namespace: {{ default (include "sealed-secrets.namespace" $ctx) .namespace }}
{{- end }}
labels:
  {{- include "sealed-secrets.metaLabels" (dict "context" $ctx "extra" .labels) | nindent 2 }}
{{- with include "sealed-secrets.metaAnnotations" (dict "context" $ctx "extra" .annotations) }}
annotations:
  {{- . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Whether image.repository names Bitnami's controller image (its last path element is `sealed-secrets-controller`,
which ours is not). That controller has no /readyz, no leader election and none of our flags.
*/}}
{{- define "sealed-secrets.bitnamiImage" -}}
{{- if eq (last (splitList "/" (toString .Values.image.repository))) "sealed-secrets-controller" -}}true{{- end -}}
{{- end -}}

{{/* The image reference: [registry/]repository[:tag][@digest]; an empty tag means the chart's appVersion. */}}
{{- define "sealed-secrets.image" -}}
{{- $ref := toString .Values.image.repository -}}
{{- with .Values.image.registry -}}{{- $ref = printf "%s/%s" . $ref -}}{{- end -}}
{{- $tag := toString (default .Chart.AppVersion .Values.image.tag) -}}
{{- $ref = printf "%s:%s" $ref $tag -}}
{{- with .Values.image.digest -}}{{- $ref = printf "%s@%s" $ref . -}}{{- end -}}
{{- $ref -}}
{{- end -}}

{{/*
A map of strings as the controller's "k=v,k=v" flag value, in the order Bitnami's chart writes it (keys in reverse
sorted order). Every value must be a non-empty string, as there.
  include "sealed-secrets.keyValueFlag" (dict "value" .Values.privateKeyLabels "what" "privateKeyLabels")
*/}}
{{- define "sealed-secrets.keyValueFlag" -}}
{{- $out := list -}}
{{- range $k, $v := .value -}}
{{- if not (and $v (kindIs "string" $v)) -}}
{{- fail (printf "%s.%s must be a non-empty string (quote numbers and booleans: \"%v\")" $.what $k $v) -}}
{{- end -}}
{{- $out = prepend $out (printf "%s=%s" $k $v) -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{/* The Lease the replicas elect their leader with (the controller's default name unless leaderElection.leaseName). */}}
{{- define "sealed-secrets.leaseName" -}}
{{- default "sealed-secrets-controller" .Values.leaderElection.leaseName -}}
{{- end -}}

{{/* The container's HTTP and metrics ports (containerPorts, defaulting to 8080 and 8081 as Bitnami's chart). */}}
{{- define "sealed-secrets.httpPort" -}}
{{- default 8080 .Values.containerPorts.http -}}
{{- end -}}
{{- define "sealed-secrets.metricsPort" -}}
{{- default 8081 .Values.containerPorts.metrics -}}
{{- end -}}
