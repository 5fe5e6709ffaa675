package detector

// Exported for the black-box tests in package detector_test.
var (
	NormalPhi      = normalPhi
	InvNormalPhi   = invNormalPhi
	AsymptoticFrom = asymptoticFrom
)
