package metering

// SetBeforeDone sets the hook that runs between a computation's rows and
// its finished-computation rows (an error there is a crash); nil: none.
func (s *Service) SetBeforeDone(f func() error) { s.beforeDone = f }
