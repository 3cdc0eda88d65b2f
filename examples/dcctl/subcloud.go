package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/atoll-edge/atoll/dc"
	"github.com/atoll-edge/atoll/dc/client"
)

func (a *app) subcloudCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "subcloud", Short: "Add, list, show, manage and delete subclouds"}
	cmd.AddCommand(a.subcloudAdd(), a.subcloudList(), a.subcloudShow(), a.subcloudManage(),
		a.subcloudUnmanage(), a.subcloudDelete(), a.subcloudErrors(), a.subcloudUpdate(), a.subcloudDeploy())
	return cmd
}

// subcloudHeader are the columns of `subcloud list`, as dcmanager's.
func subcloudHeader() []string {
	return []string{"id", "name", "management", "availability", "deploy status", "sync", "backup status", "prestage status"}
}

// subcloudRow is a subcloud as `subcloud list` shows it.
func subcloudRow(s *dc.Subcloud) []string {
	return []string{strconv.FormatInt(s.ID, 10), s.Name, string(s.ManagementState), string(s.Availability),
		string(s.DeployStatus), string(s.SyncStatus()), orNone(s.BackupStatus), orNone(s.PrestageStatus)}
}

func orNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

func subcloudTable(list []*dc.Subcloud) table {
	t := table{header: subcloudHeader()}
	for _, s := range list {
		t.rows = append(t.rows, subcloudRow(s))
	}
	return t
}

func addrString(a interface {
	IsValid() bool
	String() string
}) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// subcloudFields are the rows of `subcloud show`, in dcmanager's order.
func subcloudFields(s *dc.Subcloud, detail *client.Subcloud) table {
	errDesc := s.ErrorDescription
	if errDesc == "" {
		errDesc = "No errors present"
	}
	pairs := [][2]string{
		{"id", strconv.FormatInt(s.ID, 10)},
		{"name", s.Name},
		{"description", s.Description},
		{"location", s.Location},
		{"software_version", s.SoftwareVersion},
		{"management", string(s.ManagementState)},
		{"availability", string(s.Availability)},
		{"deploy_status", string(s.DeployStatus)},
		{"management_subnet", addrString(s.ManagementSubnet)},
		{"management_start_ip", addrString(s.ManagementStartIP)},
		{"management_end_ip", addrString(s.ManagementEndIP)},
		{"management_gateway_ip", addrString(s.ManagementGatewayIP)},
		{"systemcontroller_gateway_ip", addrString(s.SystemControllerGatewayIP)},
		{"group_id", strconv.FormatInt(s.GroupID, 10)},
		{"created_at", s.CreatedAt.Format(time.RFC3339)},
		{"updated_at", s.UpdatedAt.Format(time.RFC3339)},
		{"backup_status", orNone(s.BackupStatus)},
		{"prestage_status", orNone(s.PrestageStatus)},
		{"error_description", errDesc},
	}
	for _, e := range s.Endpoints {
		pairs = append(pairs, [2]string{e.EndpointType + "_sync_status", string(e.SyncStatus)})
	}
	if detail != nil {
		pairs = append(pairs,
			[2]string{"oam_floating_ip", addrString(s.OAMFloatingIP)},
			[2]string{"deploy_config_sync_status", detail.DeployConfigSyncStatus},
			[2]string{"region_name", detail.RegionName})
	}
	return fieldTable(pairs)
}

func (a *app) printSubcloud(s *dc.Subcloud) error {
	return a.print(s, func() table { return subcloudFields(s, nil) })
}

func readFile(flag, path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", flag, err)
	}
	return b, nil
}

func (a *app) subcloudAdd() *cobra.Command {
	var (
		req                             client.AddRequest
		bootstrapFile, installFile, cfg string
		wait                            bool
		waitTimeout                     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "add --bootstrap-address IP --bootstrap-values FILE [--install-values FILE]",
		Short: "Add a subcloud and start its deploy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if req.BootstrapValues, err = readFile("bootstrap-values", bootstrapFile); err != nil {
				return err
			}
			if req.InstallValues, err = readFile("install-values", installFile); err != nil {
				return err
			}
			if req.DeployConfig, err = readFile("deploy-config", cfg); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			s, err := c.AddSubcloud(cmd.Context(), req)
			if err != nil {
				return err
			}
			if wait {
				if s, err = a.follow(cmd.Context(), c, s, waitTimeout); err != nil {
					return err
				}
			}
			return a.printSubcloud(s)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.BootstrapAddress, "bootstrap-address", "", "IP address the subcloud is bootstrapped at (required)")
	f.StringVar(&bootstrapFile, "bootstrap-values", "", "YAML file of bootstrap values (required)")
	f.StringVar(&installFile, "install-values", "", "YAML file of install values (remote install through the BMC)")
	f.StringVar(&cfg, "deploy-config", "", "YAML file of deploy configuration")
	f.StringVar(&req.Group, "group", "", "subcloud group name or id (default: Default)")
	f.StringVar(&req.BMCPassword, "bmc-password", "", "BMC password (with --install-values)")
	f.StringVar(&req.SysadminPassword, "sysadmin-password", "", "sysadmin password of the subcloud")
	f.StringVar(&req.Release, "release", "", "software release to deploy")
	f.StringVar(&req.Description, "description", "", "description (overrides the bootstrap values')")
	f.StringVar(&req.Location, "location", "", "location (overrides the bootstrap values')")
	f.BoolVar(&wait, "wait", false, "follow the deploy with a progress bar until it completes or fails")
	f.DurationVar(&waitTimeout, "wait-timeout", time.Hour, "give up following the deploy after this long")
	_ = cmd.MarkFlagRequired("bootstrap-address")
	_ = cmd.MarkFlagRequired("bootstrap-values")
	return cmd
}

// deploySteps orders the deploy states of a full deploy, for the progress bar.
func deploySteps() []dc.DeployStatus {
	return []dc.DeployStatus{
		dc.NotDeployed, dc.Creating, dc.CreateComplete, dc.PreInstall, dc.Installing, dc.InstallComplete,
		dc.PreBootstrap, dc.Bootstrapping, dc.BootstrapComplete, dc.PreConfig, dc.Configuring, dc.Complete,
	}
}

func stepOf(d dc.DeployStatus) int {
	for i, s := range deploySteps() {
		if s == d {
			return i
		}
	}
	return -1
}

// follow polls the subcloud's deploy status, drawing a progress bar on
// stderr, until it is complete (returns the subcloud) or failed/aborted
// (returns an error naming the state and the error description).
func (a *app) follow(ctx context.Context, c *client.Client, s *dc.Subcloud, timeout time.Duration) (*dc.Subcloud, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	bar := progressbar.NewOptions(len(deploySteps())-1,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription(s.Name+": "+string(s.DeployStatus)),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(a.stderr) }),
	)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		bar.Describe(s.Name + ": " + string(s.DeployStatus))
		if n := stepOf(s.DeployStatus); n >= 0 {
			_ = bar.Set(n)
		}
		switch {
		case s.DeployStatus == dc.Complete:
			_ = bar.Finish()
			return s, nil
		case s.DeployStatus.Failed() || s.DeployStatus.Aborted():
			_ = bar.Exit()
			fmt.Fprintln(a.stderr)
			msg := s.ErrorDescription
			if msg == "" {
				msg = "no error description"
			}
			return s, fmt.Errorf("subcloud %s: deploy %s: %s (see `dcctl subcloud deploy log %s`)", s.Name, s.DeployStatus, msg, s.Name)
		}
		select {
		case <-ctx.Done():
			_ = bar.Exit()
			fmt.Fprintln(a.stderr)
			return s, fmt.Errorf("subcloud %s: still %s: %w", s.Name, s.DeployStatus, ctx.Err())
		case <-tick.C:
		}
		next, err := c.Subcloud(ctx, strconv.FormatInt(s.ID, 10))
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				continue
			}
			_ = bar.Exit()
			return s, err
		}
		s = next
	}
}

func (a *app) subcloudList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List subclouds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			list, err := c.Subclouds(cmd.Context())
			if err != nil {
				return err
			}
			return a.print(list, func() table { return subcloudTable(list) })
		},
	}
}

func (a *app) subcloudShow() *cobra.Command {
	var detail bool
	cmd := &cobra.Command{
		Use:   "show SUBCLOUD",
		Short: "Show a subcloud (name or id)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if !detail {
				s, err := c.Subcloud(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return a.printSubcloud(s)
			}
			d, err := c.SubcloudDetail(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.print(d, func() table { return subcloudFields(&d.Subcloud, d) })
		},
	}
	cmd.Flags().BoolVar(&detail, "detail", false, "include oam_floating_ip, deploy_config_sync_status and region_name")
	return cmd
}

// simple makes a command taking one subcloud argument and printing the
// subcloud the call returns.
func (a *app) simple(use, short string, call func(ctx context.Context, c *client.Client, ref string) (*dc.Subcloud, error)) *cobra.Command {
	return oneArg(a, use, "SUBCLOUD", short, call, a.printSubcloud)
}

// oneArg makes a command taking one argument (named arg in its usage),
// calling the API with it and printing what the call returns.
func oneArg[T any](a *app, use, arg, short string, call func(ctx context.Context, c *client.Client, ref string) (T, error), print func(T) error) *cobra.Command {
	return &cobra.Command{
		Use:   use + " " + arg,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			v, err := call(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			return print(v)
		},
	}
}

func (a *app) subcloudManage() *cobra.Command {
	var force bool
	cmd := a.simple("manage", "Manage a subcloud (needs deploy status complete and online, unless --force)",
		func(ctx context.Context, c *client.Client, ref string) (*dc.Subcloud, error) {
			return c.Manage(ctx, ref, force)
		})
	cmd.Flags().BoolVar(&force, "force", false, "manage even if the subcloud is not complete and online")
	return cmd
}

func (a *app) subcloudUnmanage() *cobra.Command {
	return a.simple("unmanage", "Unmanage a subcloud", func(ctx context.Context, c *client.Client, ref string) (*dc.Subcloud, error) {
		return c.Unmanage(ctx, ref)
	})
}

func (a *app) subcloudDelete() *cobra.Command {
	return a.simple("delete", "Delete a subcloud (needs unmanaged and offline)", func(ctx context.Context, c *client.Client, ref string) (*dc.Subcloud, error) {
		return c.DeleteSubcloud(ctx, ref)
	})
}

func (a *app) subcloudErrors() *cobra.Command {
	return &cobra.Command{
		Use:   "errors SUBCLOUD",
		Short: "Show the error description of a subcloud's deploy",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			s, err := c.Subcloud(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			msg := s.ErrorDescription
			if msg == "" {
				msg = "No errors present"
			}
			if a.output != formatTable {
				return writeData(a.stdout, a.output, map[string]string{"name": s.Name, "error-description": msg})
			}
			_, err = fmt.Fprintln(a.stdout, msg)
			return err
		},
	}
}

func (a *app) subcloudUpdate() *cobra.Command {
	var (
		req                                client.UpdateRequest
		description, location, name, group string
		installFile                        string
	)
	cmd := &cobra.Command{
		Use:   "update SUBCLOUD",
		Short: "Update a subcloud's description, location, group, name or install values",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			for _, p := range []struct {
				flag string
				v    *string
				dst  **string
			}{{"description", &description, &req.Description}, {"location", &location, &req.Location}, {"name", &name, &req.Name}, {"group", &group, &req.Group}} {
				if f.Changed(p.flag) {
					*p.dst = p.v
				}
			}
			var err error
			if req.InstallValues, err = readFile("install-values", installFile); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			s, err := c.UpdateSubcloud(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			return a.printSubcloud(s)
		},
	}
	f := cmd.Flags()
	f.StringVar(&description, "description", "", "new description")
	f.StringVar(&location, "location", "", "new location")
	f.StringVar(&name, "name", "", "new name (subcloud must be unmanaged)")
	f.StringVar(&group, "group", "", "new group name or id")
	f.StringVar(&installFile, "install-values", "", "YAML file of install values")
	f.StringVar(&req.BMCPassword, "bmc-password", "", "BMC password (with --install-values)")
	return cmd
}

func (a *app) subcloudDeploy() *cobra.Command {
	cmd := &cobra.Command{Use: "deploy", Short: "Resume, abort or inspect a subcloud's deploy"}
	var (
		wait        bool
		waitTimeout time.Duration
	)
	resume := a.simple("resume", "Resume a failed or aborted deploy from the phase that stopped",
		func(ctx context.Context, c *client.Client, ref string) (*dc.Subcloud, error) {
			s, err := c.ResumeDeploy(ctx, ref)
			if err != nil || !wait {
				return s, err
			}
			return a.follow(ctx, c, s, waitTimeout)
		})
	resume.Flags().BoolVar(&wait, "wait", false, "follow the deploy with a progress bar until it completes or fails")
	resume.Flags().DurationVar(&waitTimeout, "wait-timeout", time.Hour, "give up following the deploy after this long")
	abort := a.simple("abort", "Abort the deploy phase in progress",
		func(ctx context.Context, c *client.Client, ref string) (*dc.Subcloud, error) {
			return c.AbortDeploy(ctx, ref)
		})
	logCmd := &cobra.Command{
		Use:   "log SUBCLOUD",
		Short: "Show a subcloud's deploy log (Atoll addition)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			entries, err := c.DeployLog(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.output != formatTable {
				return writeData(a.stdout, a.output, entries)
			}
			for _, e := range entries {
				if _, err := fmt.Fprintf(a.stdout, "%s  %-9s  %s\n", e.Time.Format(time.RFC3339), e.Phase, e.Message); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.AddCommand(resume, abort, logCmd)
	return cmd
}
