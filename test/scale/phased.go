package main

// phaseWait is one step of a phased publish (internal/rollout), as reported.
type phaseWait struct {
	Version   string  `json:"version"`
	MS        float64 `json:"ms"`
	Confirmed bool    `json:"confirmed"`
}
