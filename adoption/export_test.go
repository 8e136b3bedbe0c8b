package adoption

import "time"

// WithMargin sets the margin that covers inserts still committing (tests
// use a short one); see DefaultMargin.
func (s *Service) WithMargin(m time.Duration) *Service {
	s.stored.Margin = m
	s.series.Margin, s.cohorts.Margin = m, m
	return s
}

// SetHooks sets the test hooks of s: afterCompute runs between a
// refresher's computation and its writes; beforeDone between the result
// rows and the finished-computation rows (an error there is a crash).
func (s *Service) SetHooks(afterCompute func(), beforeDone func() error) {
	s.stored.AfterCompute, s.stored.BeforeDone = afterCompute, beforeDone
}
