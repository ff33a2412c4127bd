package workflow_test

import (
	"testing"

	"github.com/hoso-vn/hoso/configs"
	"github.com/hoso-vn/hoso/workflow"
)

func TestSmoke(t *testing.T) {
	c, err := workflow.Load(configs.FS, configs.DefinitionsDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(c.Definitions()[0].Key(), c.Definitions()[0].Effective)
}
