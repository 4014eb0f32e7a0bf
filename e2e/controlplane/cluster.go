package controlplane

import (
	"bytes"
	"context"
	"fmt"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Connect returns the Cluster that the current context of the admin kubeconfig at path
// reaches, after checking that its /readyz passes. When the kubeconfig embeds its CA, Connect
// writes it to dir so that CAFile can be passed as a file path.
func Connect(ctx context.Context, path, dir string) (*Cluster, error) {
	config, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("load admin kubeconfig: %s: %w", path, err)
	}

	cluster := &Cluster{KubeconfigPath: path, Config: config, ServerURL: config.Host}
	switch {
	case config.CAFile != "":
		cluster.CAFile = config.CAFile
	case len(config.CAData) > 0:
		cluster.CAFile, err = writePrivateFile(dir, "cluster-ca.crt", config.CAData)
		if err != nil {
			return nil, err
		}
	}

	if err := apiserverReady(config)(ctx); err != nil {
		return nil, fmt.Errorf("check /readyz of %s: from %s: %w", config.Host, path, err)
	}
	return cluster, nil
}

// Clientset returns a typed client authenticated as the administrator.
func (c *Cluster) Clientset() (*kubernetes.Clientset, error) {
	clientset, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return nil, fmt.Errorf("create admin client: for %s: %w", c.ServerURL, err)
	}
	return clientset, nil
}

// Metrics fetches and parses the API server's /metrics. On a cluster with several API
// servers it reads whichever instance serves the request.
func (c *Cluster) Metrics(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	clientset, err := c.Clientset()
	if err != nil {
		return nil, err
	}
	body, err := clientset.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: from %s: %w", c.ServerURL, err)
	}

	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse /metrics: from %s: %w", c.ServerURL, err)
	}
	return families, nil
}
