package metering

import "time"

// WithMargin sets the margin that covers inserts still committing (tests
// use a short one); see freshness.DefaultMargin.
func (s *Service) WithMargin(m time.Duration) *Service {
	s.stored.Margin = m
	s.dailies.Margin = m
	return s
}

// SetBeforeDone sets the hook that runs between a computation's rows and
// its finished-computation rows (an error there is a crash); nil: none.
func (s *Service) SetBeforeDone(f func() error) { s.stored.BeforeDone = f }
