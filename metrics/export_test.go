package metrics

// SetHooks sets the test hooks of s: afterCompute runs between a
// refresher's computation and its writes; beforeDone between the result
// rows and the finished-computation rows (an error there is a crash).
func (s *Service) SetHooks(afterCompute func(), beforeDone func() error) {
	s.afterCompute, s.beforeDone = afterCompute, beforeDone
}
