package safety

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Word clusters group 60,000 frequent English words by meaning (k-means
// over GloVe vectors, at a coarse and a fine size), so the classifier reads a
// word the corpus never used like the words of its cluster that it did.
// gen/clusters makes wordclusters.bin; see LICENSE-wordclusters.
//
//go:embed wordclusters.bin
var clusterData []byte

const clusterMagic = "IBWC1"

// wordCluster is a word's cluster at each size.
type wordCluster struct{ coarse, fine uint16 }

var (
	clustersOnce sync.Once
	clusters     map[string]wordCluster
	clustersErr  error
)

// loadClusters decodes the embedded clusters once.
func loadClusters() (map[string]wordCluster, error) {
	clustersOnce.Do(func() { clusters, clustersErr = decodeClusters(clusterData) })
	return clusters, clustersErr
}

func decodeClusters(b []byte) (map[string]wordCluster, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("wordclusters.bin: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("wordclusters.bin: %w", err)
	}
	bad := errors.New("wordclusters.bin: not a word-cluster file (run go run ./gen/clusters)")
	if len(raw) < len(clusterMagic)+8 || string(raw[:len(clusterMagic)]) != clusterMagic {
		return nil, bad
	}
	p := raw[len(clusterMagic):]
	n := int(binary.LittleEndian.Uint32(p))
	p = p[8:]
	out := make(map[string]wordCluster, n)
	for i := 0; i < n; i++ {
		if len(p) < 1 || len(p) < 1+int(p[0])+4 {
			return nil, bad
		}
		l := int(p[0])
		w := string(p[1 : 1+l])
		out[w] = wordCluster{binary.LittleEndian.Uint16(p[1+l:]), binary.LittleEndian.Uint16(p[3+l:])}
		p = p[5+l:]
	}
	if len(p) != 0 {
		return nil, bad
	}
	return out, nil
}
